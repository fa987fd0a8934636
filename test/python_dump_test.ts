import assert from "node:assert/strict";
import { flameBinary, type FlameResult, runFlame, withTempDir } from "./helpers.ts";
import { markedLines, pythons, qualified, startFixture, startProgram } from "./python_helpers.ts";

const LINES = markedLines("stacks.py");

interface JsonFrame {
  name: string;
  file: string;
  line: number;
  firstLine: number;
  entry: boolean;
}
interface JsonThread {
  tid: number;
  name: string;
  gil: boolean;
  state: string;
  frames: JsonFrame[];
}

/** Dumps until the main thread is in inner() and the worker asleep (they may be starting). */
async function dumpJson(pid: number): Promise<{ version: string; threads: JsonThread[] }> {
  for (let i = 0;; i++) {
    const r = await runFlame(["dump", "-p", String(pid), "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const dump = JSON.parse(r.stdout).processes[0];
    const main = dump.threads.find((t: JsonThread) => t.tid === pid);
    const worker = dump.threads.find((t: JsonThread) => t.tid !== pid);
    const settled = main?.frames.at(-1)?.name === "inner" &&
      worker?.frames.at(-1)?.name === "sleeper" && worker?.state === "idle";
    if (settled || i >= 10) return dump;
  }
}

for (const python of pythons()) {
  Deno.test({
    name: `flame dump ${python.label}: text and --json through dist/flame` +
      (python.missing ? ` (ignored: ${python.missing})` : ""),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "stacks.py");
      try {
        const dump = await dumpJson(program.pid);
        assert.ok(dump.version.startsWith(`${python.major}.${python.minor}`), dump.version);
        const main = dump.threads.find((t) => t.tid === program.pid)!;
        assert.equal(main.name, "MainThread");
        assert.deepEqual(main.frames.map((f) => f.name), ["<module>", "outer", "middle", "inner"]);
        assert.deepEqual(main.frames.map((f) => f.line), [
          LINES.get("<module>"),
          LINES.get("outer"),
          LINES.get("middle"),
          LINES.get("inner"),
        ]);
        const worker = dump.threads.find((t) => t.name === "sleepy-worker")!;
        assert.equal(worker.state, "idle");
        assert.equal(worker.gil, false);
        assert.equal(worker.frames.at(-1)!.name, "sleeper");

        const text = await runFlame(["dump", "-p", String(program.pid)]);
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stdout, new RegExp(`^Process ${program.pid}: .*stacks\\.py\\n`));
        assert.match(text.stdout, /\nThread \d+ "sleepy-worker" \(idle\)\n/);
        // Innermost last: the worker's block ends with sleeper at its line.
        const block = text.stdout.split("\n\n").find((b) => b.includes('"sleepy-worker"'))!;
        const workerLines = block.trim().split("\n");
        assert.match(
          workerLines.at(-1)!,
          new RegExp(`^    sleeper \\(.*stacks\\.py:${LINES.get("sleeper")}\\)$`),
        );
        assert.match(
          workerLines.at(-2)!,
          new RegExp(`^    ${qualified(python, "Worker.run").replace(".", "\\.")} \\(`),
        );
      } finally {
        await program.stop();
      }
    },
  });
}

const py = pythons().find((p) => p.label === "3.12.1" && !p.missing);

Deno.test({
  name: "flame dump: names with escape sequences are quoted on the terminal" +
    (py ? "" : " (ignored: Python 3.12 is not installed)"),
  ignore: py === undefined,
  async fn() {
    await withTempDir(async (dir) => {
      // A code object whose file and function names carry terminal escapes and a newline.
      const script = `${dir}/hostile.py`;
      await Deno.writeTextFile(
        script,
        [
          "import sys",
          "src = 'def f():\\n    while True: pass\\n'",
          "ns = {}",
          "exec(compile(src, '/tmp/evil\\x1b]0;owned\\x07\\n.py', 'exec'), ns)",
          "f = ns['f']",
          "f.__code__ = f.__code__.replace(co_name='red\\x1b[31m', co_qualname='red\\x1b[31m\\u202e')",
          "sys.stdout.write('ready\\n'); sys.stdout.flush()",
          "f()",
        ].join("\n"),
      );
      const program = await startProgram(py!.exe, [script]);
      try {
        let r: FlameResult;
        for (let i = 0;; i++) {
          r = await runFlame(["dump", "-p", String(program.pid)]);
          if (r.stdout.includes("red") || i >= 10) break;
        }
        assert.equal(r.code, 0, r.stderr);
        assert.ok(!r.stdout.includes("\x1b"), "no raw escape character");
        assert.ok(!r.stdout.includes("\u202e"), "no raw bidirectional override");
        assert.ok(
          r.stdout.includes("red\\x1b[31m\\u202e (/tmp/evil\\x1b]0;owned\\x07\\n.py:2)"),
        );
      } finally {
        await program.stop();
      }
    });
  },
});

/** Runs dist/flame as nobody (uid 65534) with a HOME of its own; a reason string if it cannot. */
async function runAsNobody(args: string[]): Promise<FlameResult | string> {
  if (Deno.uid() !== 0) return "not root, so the test cannot switch to another user";
  const home = await Deno.makeTempDir({ prefix: "flame-nobody-" });
  await Deno.chown(home, 65534, 65534);
  try {
    const out = await new Deno.Command("setpriv", {
      args: ["--reuid=65534", "--regid=65534", "--clear-groups", await flameBinary(), ...args],
      cwd: home,
      stdout: "piped",
      stderr: "piped",
      env: {
        DENO_DIR: home,
        HOME: home,
        XDG_CACHE_HOME: `${home}/.cache`,
        RUST_BACKTRACE: "0",
        NO_COLOR: "1",
      },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (err) {
    return `setpriv is not available (${err instanceof Error ? err.message : err})`;
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const anyPython = pythons().find((p) => !p.missing);
Deno.test({
  name:
    "flame dump: another user's process is a refusal that names the fix, not 'no such process'" +
    (anyPython ? "" : " (ignored: no Python installed)"),
  ignore: anyPython === undefined || Deno.uid() !== 0,
  async fn() {
    const program = await startFixture(anyPython!, "stacks.py");
    try {
      const r = await runAsNobody(["dump", "-p", String(program.pid)]);
      if (typeof r === "string") throw new Error(r);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^flame: error: not permitted to read process ${program.pid}'s memory \\(it belongs to uid 0, you are 65534\\)`,
        ),
      );
      assert.match(r.stderr, /hint: .*root.*CAP_SYS_PTRACE/);
      assert.ok(!/no process|no such process/.test(r.stderr));
    } finally {
      await program.stop();
    }
  },
});

Deno.test("flame dump: usage errors and a missing process are one line each", async () => {
  const none = await runFlame(["dump"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^flame: error: dump: give a process with -p PID\n/);
  const bad = await runFlame(["dump", "-p", "abc"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^flame: error: dump: --pid wants process IDs, got 'abc'\n/);
  assert.match(bad.stderr, /flame dump -p 1234/);
  const badRecord = await runFlame(["record", "-p", "12,x"]);
  assert.equal(badRecord.code, 2);
  assert.match(badRecord.stderr, /^flame: error: record: --pid wants process IDs, got '12,x'\n/);
  const gone = await runFlame(["dump", "-p", "999999999"]);
  assert.equal(gone.code, 1);
  assert.match(
    gone.stderr,
    /^flame: error: no process 999999999 \(it does not exist or has exited\)\n$/,
  );
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    const notPython = await runFlame(["dump", "-p", String(sleeper.pid)]);
    assert.equal(notPython.code, 1);
    assert.match(notPython.stderr, /is not a Python process/);
  } finally {
    sleeper.kill();
    await sleeper.status;
  }
});
