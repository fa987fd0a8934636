/**
 * End-to-end: `flame run`, `record` and `report` with the real perf on this machine, on small
 * programs from fixtures/capture/. Skipped (with the reason) where perf cannot record: perf
 * missing, or not root with kernel.perf_event_paranoid > 1. Runs are short (-F 499, < 1 s).
 */
import assert from "node:assert/strict";
import {
  flameArgv,
  flameBinary,
  NO_OTHER_USER,
  repoPath,
  runFlame,
  runFlameAsNobody,
  withTempDir,
} from "./helpers.ts";
import { startServer } from "./pyroscope_server.ts";
import { exists } from "../src/capture/cleanup.ts";

function which(name: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  return undefined;
}

function paranoid(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/sys/kernel/perf_event_paranoid").trim());
  } catch {
    return 99;
  }
}

/** Why perf cannot be used here, or undefined when it can. */
const NO_PERF = Deno.build.os !== "linux"
  ? "not Linux"
  : !which("perf")
  ? "perf is not installed"
  : Deno.uid() !== 0 && paranoid() > 1
  ? "not root and kernel.perf_event_paranoid > 1"
  : undefined;
const NO_CC = which("gcc") || which("cc") ? undefined : "no C compiler";
const PYTHON313 = `${Deno.env.get("HOME")}/.pyenv/versions/3.13.0/bin/python3.13`;
const NO_PY313 = exists(PYTHON313) ? undefined : `no Python 3.13 at ${PYTHON313}`;
const NO_NODE = which("node") ? undefined : "node is not installed";
/** A Python for small helper programs (no pyenv shim in between). */
const PYTHON = which("python3.11") ?? "python3";

/**
 * What a run may leave behind: in flame's own temporary directory (`TMPDIR`, private to the
 * test, so other programs' runs do not count), and in /tmp, where perf and the runtimes write
 * whatever TMPDIR says.
 */
function tempEntries(tmpdir?: string): string[] {
  const own = tmpdir ? [...Deno.readDirSync(tmpdir)].map((e) => `${tmpdir}/${e.name}`) : [];
  return own.concat(
    [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((n) =>
      /^(?:perf-vdso\.so-|jit-\d+\.dump$|perf-\d+\.map$|jitted-\d+-)/.test(n)
    ),
  );
}

/** A private TMPDIR in `dir` for the flame under test. */
function privateTmp(dir: string): string {
  Deno.mkdirSync(`${dir}/tmp`, { recursive: true });
  return `${dir}/tmp`;
}

/** The PIDs of processes whose command line holds `marker`. */
function runningWith(marker: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(marker)) {
        pids.push(Number(e.name));
      }
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

/** A test that needs perf (and more); named with the reason when it is skipped. */
function e2e(name: string, needs: (string | undefined)[], fn: () => Promise<void>): void {
  const reason = [NO_PERF, ...needs].find((r) => r !== undefined);
  Deno.test({
    name: reason ? `e2e: ${name} (skipped: ${reason})` : `e2e: ${name}`,
    ignore: reason !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/** Compiles fixtures/capture/busy.c into `dir`. */
async function buildBusy(dir: string): Promise<string> {
  const out = `${dir}/busy`;
  const cc = which("gcc") ? "gcc" : "cc";
  const r = await new Deno.Command(cc, {
    args: ["-O2", "-g", "-o", out, repoPath("fixtures/capture/busy.c")],
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return out;
}

const SUMMARY = /^flame: [\d,]+ samples in [\d.]+ s → .+: open it in a browser$/m;

e2e("a C program: its functions in the SVG, the summary line, report of the kept data", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const r = await runFlame([
      "run",
      "-F",
      "499",
      "-o",
      `${dir}/c.svg`,
      "--folded",
      `${dir}/c.folded`,
      "--keep-data",
      `${dir}/c.data`,
      "--",
      busy,
      "0.6",
    ], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, SUMMARY);
    const svg = Deno.readTextFileSync(`${dir}/c.svg`);
    assert.match(svg, /^<\?xml|^<svg/);
    assert.ok(svg.includes("spin_inner"), "the hot function is in the graph");
    // cpu-clock counts are nanoseconds: the tooltips show CPU time.
    assert.ok(svg.includes("&quot;c&quot;:&quot;ns&quot;"), "count unit ns");
    const folded = Deno.readTextFileSync(`${dir}/c.folded`);
    assert.match(folded, /^busy;_start;.*;main;spin_outer;spin_inner \d+$/m, "DWARF: rooted");
    // The kept recording renders again.
    const rep = await runFlame(["report", `${dir}/c.data`, "-o", `${dir}/r.svg`], { cwd: dir });
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stderr, SUMMARY);
    assert.ok(Deno.readTextFileSync(`${dir}/r.svg`).includes("spin_inner"));
  });
});

e2e("Python 3.13: Python names, a C extension and the kernel in one graph; files removed", [
  NO_PY313,
], async () => {
  await withTempDir(async (dir) => {
    const r = await runFlame([
      "run",
      "-F",
      "499",
      "--by-pid",
      "-o",
      `${dir}/py.svg`,
      "--folded",
      `${dir}/py.folded`,
      "--",
      PYTHON313,
      repoPath("fixtures/capture/work.py"),
      "0.8",
      `${dir}/scratch`,
    ], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const folded = Deno.readTextFileSync(`${dir}/py.folded`);
    const svg = Deno.readTextFileSync(`${dir}/py.svg`);
    for (const name of ["squeeze (work.py)", "main (work.py)", "zlib_compress"]) {
      assert.ok(svg.includes(name), `${name} is in the SVG`);
    }
    // One stack from <module> through Python frames down to the C extension...
    assert.match(
      folded,
      /^python3\.13-\d+;<module> \(work\.py\);main \(work\.py\);squeeze \(work\.py\);zlib_compress;/m,
    );
    // ... and one down to the kernel, without interpreter glue in between.
    assert.match(
      folded,
      /^python3\.13-\d+;<module> \(work\.py\);main \(work\.py\);scribble \(work\.py\);[^ ]*(?:do_syscall_64|entry_SYSCALL)/m,
    );
    // Interpreter glue never stands rootward of a Python frame (leafward of the innermost one
    // it may do real work, e.g. the trampoline writing a new function's perf map entry).
    for (const line of folded.trimEnd().split("\n")) {
      const frames = line.slice(0, line.lastIndexOf(" ")).split(";");
      const lastPython = frames.findLastIndex((f) =>
        / \((?:[^()]*\.py|<frozen [^()]*>)\)$/.test(f)
      );
      if (lastPython === -1) continue; // start-up before the first Python frame: all native
      const glue = frames.slice(0, lastPython).filter((f) =>
        f === "py_trampoline_evaluator" || f.startsWith("_PyEval_")
      );
      assert.deepEqual(glue, [], line);
    }
    // perf_jit's dump and perf inject's objects for this process are gone.
    const pid = /^python3\.13-(\d+);/m.exec(folded)![1];
    const left = [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((n) =>
      n === `jit-${pid}.dump` || n === `perf-${pid}.map` || n.startsWith(`jitted-${pid}-`)
    );
    assert.deepEqual(left, []);
  });
});

e2e("Node: JavaScript functions without V8 tier marks", [NO_NODE], async () => {
  await withTempDir(async (dir) => {
    const r = await runFlame([
      "run",
      "-F",
      "499",
      "-o",
      `${dir}/js.svg`,
      "--folded",
      `${dir}/js.folded`,
      "--",
      "node",
      repoPath("fixtures/capture/work.js"),
      "0.8",
    ], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const folded = Deno.readTextFileSync(`${dir}/js.folded`);
    assert.match(folded, /;main \(work\.js:\d+\);(?:[^;]+;)*fib \(work\.js:\d+\)/);
    assert.doesNotMatch(folded, /JS:[~^+*]/);
    assert.ok(Deno.readTextFileSync(`${dir}/js.svg`).includes("fib "));

    // A short-lived child that gets no sample writes a perf map (NODE_OPTIONS reaches it) and
    // V8 logs: nothing of either is left behind. The kept recording names every process.
    // At 49 Hz a child that runs for a millisecond is all but never sampled.
    const tree = await runFlame([
      "run",
      "-F",
      "49",
      "-o",
      `${dir}/tree.svg`,
      "--keep-data",
      `${dir}/tree.data`,
      "--",
      "sh",
      "-c",
      // A child that writes what V8 writes and exits at once, as a short node child would.
      `sh -c 'echo 1 > /tmp/perf-$$.map; echo 1 > isolate-0x1-$$-v8.log'; ` +
      `node ${repoPath("fixtures/capture/work.js")} 0.5`,
    ], { cwd: dir });
    assert.equal(tree.code, 0, tree.stderr);
    const tasks = await new Deno.Command("perf", {
      args: ["script", "--show-task-events", "-F", "pid", "-i", `${dir}/tree.data`],
      stdout: "piped",
      stderr: "null",
    }).output();
    const pids = new Set(
      [...new TextDecoder().decode(tasks.stdout).matchAll(/PERF_RECORD_FORK\((\d+):/g)]
        .map((m) => m[1]),
    );
    assert.ok(pids.size >= 2, "sh started its children");
    const left = [...Deno.readDirSync("/tmp")].map((e) => e.name).filter((n) =>
      pids.has(/^perf-(\d+)\.map$/.exec(n)?.[1] ?? "")
    );
    assert.deepEqual(left, []);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /\.log$/.test(n)),
      [],
    );
  });
});

e2e("output formats by -o's extension or --format; a push to Pyroscope; a failed push", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const server = startServer();
    try {
      const r = await runFlame([
        "run",
        "-F",
        "499",
        "-o",
        `${dir}/p.speedscope.json`,
        "--push",
        server.url,
        "--app",
        "busy",
        "--label",
        "env=test",
        "--",
        busy,
        "0.3",
      ], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      const doc = JSON.parse(Deno.readTextFileSync(`${dir}/p.speedscope.json`));
      assert.equal(doc.$schema, "https://www.speedscope.app/file-format-schema.json");
      assert.ok(doc.shared.frames.some((f: { name: string }) => f.name === "spin_inner"));
      assert.match(r.stderr, /→ .*p\.speedscope\.json\n/); // no "open it in a browser"
      assert.equal(server.received.length, 1);
      assert.equal(server.received[0].app, "busy");
      assert.deepEqual(server.received[0].labels, { env: "test" });
      assert.ok([...server.received[0].stacks.keys()].some((k) => k.endsWith(";spin_inner")));
    } finally {
      await server.close();
    }
    // --format without -o names the file after the format; the summary lists busy's functions.
    const t = await runFlame(["run", "-F", "499", "--format", "summary", "--", busy, "0.3"], {
      cwd: dir,
    });
    assert.equal(t.code, 0, t.stderr);
    assert.match(Deno.readTextFileSync(`${dir}/flame.txt`), /Top \d+ functions by self time/);
    // A push to a server that is not there: one line, exit 1, the file written all the same.
    const down = await runFlame([
      "run",
      "-F",
      "499",
      "-o",
      `${dir}/down.svg`,
      "--push",
      "http://127.0.0.1:9",
      "--app",
      "busy",
      "--",
      busy,
      "0.3",
    ], { cwd: dir });
    assert.equal(down.code, 1, down.stderr);
    assert.match(down.stderr, /warning: .*127\.0\.0\.1:9.*; .*down\.svg is written/);
    assert.ok(exists(`${dir}/down.svg`));
  });
});

e2e("a terminal gets the five functions with the most self time", [
  NO_CC,
  new Deno.Command("sh", { args: ["-c", "command -v script"], stdout: "null" }).outputSync()
      .success
    ? undefined
    : "script(1) is not installed",
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const command = (await flameArgv(["run", "-F", "499", "-o", "t.svg", "--", busy, "0.4"]))
      .map((a) => `'${a}'`).join(" ");
    const out = await new Deno.Command("script", {
      args: ["-qec", command, "/dev/null"],
      cwd: dir,
      stdout: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const shown = new TextDecoder().decode(out.stdout).replaceAll("\r", "");
    assert.equal(out.code, 0, shown);
    const block = /flame: most self time:\n((?: +[\d.]+% +\S.*\n)+)/.exec(shown);
    assert.ok(block, shown);
    const rows = block[1].trimEnd().split("\n");
    assert.ok(rows.length >= 2 && rows.length <= 5, block[1]);
    assert.match(rows[0], /spin_inner$/);
  });
});

e2e("a stripped program (Debian's gzip): whole stacks, no truncation warning", [
  exists("/usr/bin/gzip") ? undefined : "no /usr/bin/gzip",
], async () => {
  await withTempDir(async (dir) => {
    // 24 MB of text gzip works on for about a second.
    const line = new TextEncoder().encode(
      Array.from({ length: 64 }, (_, i) => (i * 7919 % 1000).toString(36)).join(" ") + "\n",
    );
    const data = new Uint8Array(24 << 20);
    for (let at = 0; at < data.length; at += line.length) {
      data.set(line.subarray(0, data.length - at), at);
    }
    Deno.writeFileSync(`${dir}/data`, data);
    const r = await runFlame(
      ["run", "-F", "499", "-o", `${dir}/g.svg`, "--", "/usr/bin/gzip", "-9", "-k", `${dir}/data`],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /truncated/);
    assert.match(r.stderr, /frames in \/usr\/bin\/gzip have no symbol/);
  });
});

e2e("as a user without perf rights: a graph without kernel frames, and a note saying so", [
  NO_CC,
  NO_OTHER_USER,
  paranoid() < 2 ? "kernel.perf_event_paranoid < 2: every user gets kernel frames" : undefined,
], async () => {
  await withTempDir(async (dir) => {
    await Deno.chmod(dir, 0o777);
    const busy = await buildBusy(dir);
    const r = await runFlameAsNobody(
      ["run", "-F", "499", "-o", `${dir}/u.svg`, "--folded", `${dir}/u.folded`, "--", busy, "0.4"],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(Deno.readTextFileSync(`${dir}/u.folded`), /kallsyms|_\[k\]/);
    assert.match(
      r.stderr,
      /warning: kernel frames are not recorded \(kernel\.perf_event_paranoid=\d\)/,
    );
    // Another user's process: not permitted, never "no such process".
    const other = await runFlameAsNobody(["record", "-p", "1", "-d", "0.5", "-o", `${dir}/x.svg`]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /^flame: error: not permitted to profile process 1: /);
  });
});

e2e("a program that exits 3, and one that crashes: graph written, its status returned", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const r = await runFlame(["run", "-F", "499", "-o", `${dir}/e.svg`, "--", busy, "0.3", "3"], {
      cwd: dir,
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /warning: the program exited with status 3/);
    assert.ok(Deno.readTextFileSync(`${dir}/e.svg`).includes("spin_inner"));
    const s = await runFlame(
      ["run", "-F", "499", "-o", `${dir}/s.svg`, "--", busy, "0.3", "segv"],
      {
        cwd: dir,
      },
    );
    assert.equal(s.code, 139, s.stderr);
    assert.match(s.stderr, /killed by SIGSEGV/);
    assert.ok(exists(`${dir}/s.svg`));
  });
});

/** Starts `flame run -- CMD` (default `busy 0`) as the leader of a new process group, as a shell job. */
async function startInGroup(
  dir: string,
  busy: string,
  svg: string,
  command = [busy, "0"],
): Promise<Deno.ChildProcess> {
  return new Deno.Command("python3", {
    args: [
      "-c",
      "import os,sys; os.setpgid(0,0); os.execvp(sys.argv[1], sys.argv[1:])",
      await flameBinary(),
      "run",
      "-F",
      "499",
      "-o",
      svg,
      "--",
      ...command,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", TMPDIR: privateTmp(dir) },
  }).spawn();
}

/** The PIDs of running `busy` processes started from `path`. */
function runningBusy(path: string): number[] {
  const pids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readLinkSync(`/proc/${e.name}/exe`) === path) pids.push(Number(e.name));
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

e2e("Ctrl-C to the process group: the program stops, the graph is written, exit 130", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const child = await startInGroup(dir, busy, `${dir}/int.svg`);
    await waitFor(() => runningBusy(busy).length > 0);
    await new Promise((r) => setTimeout(r, 700));
    const sent = performance.now();
    Deno.kill(-child.pid, "SIGINT");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 130, stderr);
    assert.ok(performance.now() - sent < 10_000, "stopped promptly");
    // Said once, when it happened; the summary is the last line.
    assert.match(
      stderr,
      /^flame: stopping the program: the graph is still written \(Ctrl-C again/m,
    );
    assert.doesNotMatch(stderr, /warning: interrupted/);
    assert.match(stderr.trimEnd().split("\n").at(-1)!, SUMMARY);
    assert.ok(Deno.readTextFileSync(`${dir}/int.svg`).includes("spin_inner"));
    assert.deepEqual(runningBusy(busy), []);

    // A second Ctrl-C a while after the first aborts at once: no graph, nothing left running,
    // nothing left behind. The program ignores Ctrl-C (and perf's SIGTERM after it), so the first
    // one cannot end the run.
    const stubborn = `${dir}/stubborn.py`;
    Deno.writeTextFileSync(
      stubborn,
      "import signal\nfor s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_IGN)\n" +
        "while True: pass\n",
    );
    const before = tempEntries(privateTmp(dir));
    const again = await startInGroup(dir, busy, `${dir}/abort.svg`, [PYTHON, stubborn]);
    // Ctrl-C only once the program ignores it (SIGINT is bit 1 of SigIgn in /proc/PID/status).
    await waitFor(() =>
      runningWith(stubborn).some((pid) => {
        try {
          const ign = /^SigIgn:\s*([0-9a-f]+)$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
          return ign !== null && (parseInt(ign[1], 16) & 2) !== 0;
        } catch {
          return false;
        }
      })
    );
    await new Promise((r) => setTimeout(r, 300));
    Deno.kill(-again.pid, "SIGINT");
    await new Promise((r) => setTimeout(r, 1500));
    Deno.kill(-again.pid, "SIGINT");
    const aborted = await again.output();
    const abortErr = new TextDecoder().decode(aborted.stderr);
    assert.equal(aborted.code, 130, abortErr);
    assert.match(abortErr.trimEnd().split("\n").at(-1)!, /^flame: aborted: no graph written$/);
    assert.ok(!exists(`${dir}/abort.svg`));
    assert.deepEqual(runningWith(stubborn), []);
    assert.deepEqual(tempEntries(privateTmp(dir)).filter((e) => !before.includes(e)), []);
  });
});

e2e("two SIGINTs at once (timeout -s INT: flame, then its group) write the graph", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const before = tempEntries(privateTmp(dir));
    // The bug this guards against struck about every other run: try several.
    for (let i = 0; i < 3; i++) {
      const out = await new Deno.Command("timeout", {
        args: [
          "-s",
          "INT",
          "1.5",
          ...await flameArgv(["run", "-F", "499", "-o", "t.svg", busy, "0"]),
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { TMPDIR: privateTmp(dir) },
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 124, stderr); // timeout's own status for a command it stopped
      assert.match(stderr.trimEnd().split("\n").at(-1)!, SUMMARY);
      assert.ok(Deno.readTextFileSync(`${dir}/t.svg`).includes("spin_inner"));
      Deno.removeSync(`${dir}/t.svg`);
    }
    assert.deepEqual(runningBusy(busy), []);
    assert.deepEqual(tempEntries(privateTmp(dir)).filter((e) => !before.includes(e)), []);
  });
});

e2e("SIGTERM to flame: the graph is written, exit 143", [NO_CC], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const child = await startInGroup(dir, busy, `${dir}/term.svg`);
    await waitFor(() => runningBusy(busy).length > 0);
    await new Promise((r) => setTimeout(r, 700));
    Deno.kill(child.pid, "SIGTERM"); // flame alone, as a service manager would
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 143, stderr);
    assert.match(stderr.trimEnd().split("\n").at(-1)!, SUMMARY);
    assert.ok(Deno.readTextFileSync(`${dir}/term.svg`).includes("spin_inner"));
    assert.deepEqual(runningBusy(busy), []);
  });
});

e2e("perf killed mid-recording: what it wrote is drawn, the program is stopped", [
  NO_CC,
], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const before = tempEntries(privateTmp(dir));
    const child = await startInGroup(dir, busy, `${dir}/killed.svg`);
    await waitFor(() => runningBusy(busy).length > 0);
    await new Promise((r) => setTimeout(r, 1500));
    const perf = runningWith(busy).filter((pid) =>
      Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0")[1] === "record"
    );
    assert.equal(perf.length, 1);
    Deno.kill(perf[0], "SIGKILL");
    const out = await child.output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 1, stderr);
    assert.match(stderr, /perf was killed by SIGKILL: stopped the program/);
    assert.match(stderr, /perf was killed by SIGKILL: the graph shows what it had written/);
    assert.ok(Deno.readTextFileSync(`${dir}/killed.svg`).includes("spin_inner"));
    await waitFor(() => runningBusy(busy).length === 0);
    // perf's own temporary files stay: it had no chance to remove them. flame's do not.
    assert.deepEqual(
      tempEntries(privateTmp(dir)).filter((e) => !before.includes(e) && !e.startsWith("perf-vdso")),
      [],
    );
  });
});

e2e("attach to an idle process: a warning that says so, exit 0, nothing written", [], async () => {
  await withTempDir(async (dir) => {
    const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      const r = await runFlame(["record", "-p", String(sleeper.pid), "-d", "1", "-o", "i.svg"], {
        cwd: dir,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /warning: no CPU time in 1\.\d s: the process was idle/);
      assert.ok(!exists(`${dir}/i.svg`));
    } finally {
      sleeper.kill();
      await sleeper.status;
    }
  });
});

e2e("attach with --duration: the process is recorded and keeps running", [NO_CC], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const target = new Deno.Command(busy, { args: ["20"], stdout: "null", stderr: "null" })
      .spawn();
    try {
      const r = await runFlame([
        "record",
        "-p",
        String(target.pid),
        "--duration",
        "1",
        "-F",
        "499",
        "-o",
        `${dir}/a.svg`,
        "--folded",
        `${dir}/a.folded`,
      ], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`recording process ${target.pid} .* for 1 s`));
      assert.match(Deno.readTextFileSync(`${dir}/a.folded`), /;spin_outer;spin_inner \d+$/m);
      assert.ok(exists(`/proc/${target.pid}`), "the process is still running");
    } finally {
      target.kill("SIGKILL");
      await target.status;
    }
  });
});

e2e("errors: command not found or not executable, no samples, not a recording", [], async () => {
  const nf = await runFlame(["run", "--", "no-such-command-xyz"]);
  assert.equal(nf.code, 127);
  assert.match(nf.stderr, /^flame: error: command not found: no-such-command-xyz\n {2}hint: /);
  await withTempDir(async (dir) => {
    const none = await runFlame(["run", "-o", `${dir}/t.svg`, "--", "true"], { cwd: dir });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /error: no samples were recorded\n {2}hint: .*-F 999/);
    assert.ok(!exists(`${dir}/t.svg`));
    // A failed program's status, in the one error line (no "the graph shows" for no graph).
    const failed = await runFlame(["run", "-o", `${dir}/t.svg`, "--", "sh", "-c", "exit 3"]);
    assert.equal(failed.code, 3);
    assert.match(
      failed.stderr,
      /^flame: error: no samples were recorded \(the program exited with status 3\)\n {2}hint: /,
    );
    Deno.writeTextFileSync(`${dir}/script`, "echo hi\n");
    const noexec = await runFlame(["run", "--", "./script"], { cwd: dir });
    assert.equal(noexec.code, 126);
    assert.match(
      noexec.stderr,
      /^flame: error: \.\/script: permission denied \(not executable\)\n/,
    );
    const notPerf = await runFlame(["report", `${dir}/script`]);
    assert.equal(notPerf.code, 1);
    assert.match(notPerf.stderr, /error: .*script: not a perf recording\n {2}hint: /);
  });
});

e2e("a short run: too few samples, said with the fix", [NO_CC], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const r = await runFlame(["run", "-o", `${dir}/s.svg`, "--", busy, "0.2"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: only \d+ samples \(0\.\d+ s of CPU time at 99 Hz\): too few for reliable proportions; raise the rate \(-F 999\)/,
    );
    assert.match(r.stderr.trimEnd().split("\n").at(-1)!, SUMMARY);
  });
});

e2e("report of a frame-pointer recording: the hint says to record again", [NO_CC], async () => {
  await withTempDir(async (dir) => {
    const busy = await buildBusy(dir);
    const data = `${dir}/fp.data`;
    const run = await runFlame(
      ["run", "-F", "499", "--call-graph", "fp", "--keep-data", data, "-o", `${dir}/a.svg`, "--"]
        .concat([busy, "0.4"]),
      { cwd: dir },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /stacks look truncated.*: use --call-graph dwarf\n/);
    const rep = await runFlame(["report", data, "-o", `${dir}/b.svg`], { cwd: dir });
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(
      rep.stderr,
      /stacks look truncated.*: record again with --call-graph dwarf \(flame run --call-graph dwarf -- CMD, or perf record --call-graph dwarf\)\n/,
    );
    assert.doesNotMatch(rep.stderr, /use --call-graph/);
  });
});

e2e("attach to a Python 3.13 -c program without perf support: its Python frames, no warning", [
  NO_PY313,
], async () => {
  await withTempDir(async (dir) => {
    const program = "import time\ndef spin():\n    x = 0\n    for i in range(100000):\n" +
      "        x += i\n\nwhile True:\n    spin()\n";
    const target = new Deno.Command(PYTHON313, {
      args: ["-c", program],
      env: { PYTHON_PERF_JIT_SUPPORT: "0", PYTHONPERFSUPPORT: "0" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      await new Promise((r) => setTimeout(r, 300));
      const r = await runFlame(
        ["record", "-p", String(target.pid), "-d", "0.5", "-F", "499", "-o", `${dir}/p.svg`],
        { cwd: dir },
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.ok(lines.every((l) => l.startsWith("flame: ")), r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^flame: recording process ${target.pid} \\(python3\\.13 -c 'import time def ` +
            `spin\\(\\): x = 0 [^\\n]{1,40}…\\) for 0\\.5 s$`,
          "m",
        ),
      );
      // The interpreter reader names its frames: what its perf support lacks no longer matters.
      assert.equal(lines.filter((l) => /perf support/.test(l)).length, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /3\.11 and older/);
      assert.match(r.stderr, /Python frames from the interpreter spliced into \d+%/);
      assert.match(Deno.readTextFileSync(`${dir}/p.svg`), /spin \(&lt;string&gt;\)/);
      const title = /flame record: [^<]*/.exec(Deno.readTextFileSync(`${dir}/p.svg`))![0];
      assert.ok(!title.includes("\n") && title.length < 100, title);
    } finally {
      target.kill("SIGKILL");
      await target.status;
    }
  });
});

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}
