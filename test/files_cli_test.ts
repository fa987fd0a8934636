/** `flame files` as a user runs it: options, output files, messages, exit statuses. */
import assert from "node:assert/strict";
import { flameArgv, NO_OTHER_USER, runFlame, runFlameAsNobody, withTempDir } from "./helpers.ts";

async function du(args: string[], cwd: string): Promise<number> {
  const out = await new Deno.Command("du", { args, cwd, stdout: "piped", stderr: "null" })
    .output();
  return Number(new TextDecoder().decode(out.stdout).trim().split("\t")[0]);
}

/** Sums the values of folded lines. */
function foldedTotal(text: string): number {
  let total = 0;
  for (const line of text.split("\n")) if (line) total += Number(line.slice(line.lastIndexOf(" ")));
  return total;
}

/** A small tree with awkward names in `dir/t`. */
async function smallTree(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/t/sub`, { recursive: true });
  await Deno.writeFile(`${dir}/t/<&"'>.html`, new Uint8Array(3000));
  await Deno.writeFile(`${dir}/t/semi;colon`, new Uint8Array(2000));
  await Deno.writeFile(`${dir}/t/sub/ünï ✓`, new Uint8Array(50000));
  await Deno.symlink("t", `${dir}/t/sub/loop`);
}

Deno.test("files --help: usage, options, the escape, examples", async () => {
  const r = await runFlame(["files", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^Usage: flame files \[OPTIONS\] DIR\.\.\./);
  for (const option of ["--folded", "--disk-usage", "--count", "--one-file-system", "--output"]) {
    assert.ok(r.stdout.includes(option), option);
  }
  assert.match(r.stdout, /U\+037E/);
  assert.match(r.stdout, /\\xNN/);
  assert.match(r.stdout, /^Examples:$/m);
});

Deno.test("files: no DIR is a usage error (exit 2)", async () => {
  const r = await runFlame(["files"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^flame: error: files: give at least one directory\n/);
});

Deno.test("files: a missing DIR is one clear line, exit 1, nothing written", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/here`);
    const r = await runFlame(["files", "here", "nope"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "flame: error: nope: no such file or directory\n");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["here"]);
  });
});

Deno.test("files: --disk-usage and --count together are a usage error", async () => {
  const r = await runFlame(["files", "--disk-usage", "--count", "."]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pick one/);
});

Deno.test("files --folded: lines on stdout, DIR as written, total equals du -sb", async () => {
  await withTempDir(async (dir) => {
    await smallTree(dir);
    const r = await runFlame(["files", "--folded", "t/"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "no progress or notes when stderr is not a terminal");
    const lines = r.stdout.trim().split("\n").sort();
    assert.deepEqual(lines.map((l) => l.slice(0, l.lastIndexOf(" "))), [
      "t",
      `t;<&"'>.html`,
      "t;semi\u037ecolon",
      "t;sub",
      "t;sub;loop",
      "t;sub;ünï ✓",
    ]);
    assert.equal(foldedTotal(r.stdout), await du(["-sb", "t"], dir));
  });
});

Deno.test("files --folded -o FILE, --disk-usage, --count", async () => {
  await withTempDir(async (dir) => {
    await smallTree(dir);
    const r = await runFlame(["files", "--folded", "--disk-usage", "-o", "out.folded", "t"], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    const text = await Deno.readTextFile(`${dir}/out.folded`);
    assert.equal(foldedTotal(text), await du(["-s", "--block-size=1", "t"], dir));
    const c = await runFlame(["files", "--folded", "--count", "t"], { cwd: dir });
    assert.equal(foldedTotal(c.stdout), await du(["-s", "--inodes", "t"], dir));
  });
});

Deno.test("files: writes files.svg with a title, byte units and names escaped for XML", async () => {
  await withTempDir(async (dir) => {
    await smallTree(dir);
    const r = await runFlame(["files", "t"], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^flame: wrote files\.svg: \d+\.\d KiB \([\d,]+ bytes\) in 6 entries\n$/,
    );
    const svg = await Deno.readTextFile(`${dir}/files.svg`);
    assert.match(svg, /Sizes: t</);
    assert.ok(svg.includes("&lt;&amp;&quot;"), "the renderer escapes names");
    assert.ok(svg.includes("semi\u037ecolon"));
    assert.ok(svg.includes("ünï ✓"));
    const cfg = JSON.parse(
      svg.match(/data-flame="([^"]*)"/)![1].replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
    );
    assert.equal(cfg.b, 1, "tooltips in bytes with KiB/MiB/GiB");
    assert.equal(cfg.t, await du(["-sb", "t"], dir), "the root is as wide as du -sb");
  });
});

Deno.test("files: --title and -o, and --count draws entries", async () => {
  await withTempDir(async (dir) => {
    await smallTree(dir);
    const r = await runFlame(["files", "--count", "--title", "My files", "-o", "c.svg", "t"], {
      cwd: dir,
    });
    assert.equal(r.code, 0, r.stderr);
    const svg = await Deno.readTextFile(`${dir}/c.svg`);
    assert.match(svg, />My files</);
    assert.match(svg, /&quot;b&quot;:0/);
    assert.match(svg, /&quot;t&quot;:6[,}]/);
  });
});

/** Why flame cannot be run as a user who may not read a locked directory, if so. */
const NO_LOCKED_READER = Deno.uid() === 0 ? NO_OTHER_USER : undefined;

for (const walk of ["native", "portable"]) {
  Deno.test({
    name:
      `files (${walk} walk): an unreadable directory is skipped with one line; its own size counts`,
    ignore: NO_LOCKED_READER !== undefined,
    fn: async () => {
      const env: Record<string, string> = walk === "portable"
        ? { FLAME_FILES_WALK: "portable" }
        : {};
      await withTempDir(async (dir) => {
        await Deno.chmod(dir, 0o755);
        await smallTree(dir);
        await Deno.mkdir(`${dir}/t/locked`);
        await Deno.writeFile(`${dir}/t/locked/secret`, new Uint8Array(12345));
        await Deno.chmod(`${dir}/t/locked`, 0o000);
        try {
          // Root reads every directory: the reader is someone else then.
          const r = Deno.uid() === 0
            ? await runFlameAsNobody(["files", "--folded", "t"], { cwd: dir, env })
            : await runFlame(["files", "--folded", "t"], { cwd: dir, env });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            r.stderr,
            "flame: warning: skipped 1 entry: 1 permission denied (t/locked)\n",
          );
          assert.ok(r.stdout.includes("t;locked "));
          assert.ok(!r.stdout.includes("secret"));
          // What du can see as that user: everything but the locked directory's contents.
          const ownSize = Deno.lstatSync(`${dir}/t/locked`).size;
          assert.equal(
            foldedTotal(r.stdout),
            (await du(["-sb", "t"], dir)) - 12345,
            `the locked directory's own ${ownSize} bytes count, its contents cannot`,
          );
        } finally {
          await Deno.chmod(`${dir}/t/locked`, 0o755);
        }
      });
    },
  });
}

Deno.test("files: a DIR that is a symbolic link loop is one clear line, exit 1", async () => {
  await withTempDir(async (dir) => {
    await Deno.symlink("loop", `${dir}/loop`);
    const r = await runFlame(["files", "--folded", "loop/"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").length, 2, r.stderr);
    assert.match(r.stderr, /^flame: error: loop\/: /);
    // Without the slash the link itself is the entry, as du counts it.
    const own = await runFlame(["files", "--folded", "loop"], { cwd: dir });
    assert.equal(own.stdout, "loop 4\n");
  });
});

/** util-linux's script(1), which runs a command on a pseudo-terminal, if installed. */
const NO_SCRIPT = new Deno.Command("sh", { args: ["-c", "command -v script"], stdout: "null" })
    .outputSync().success
  ? undefined
  : "script(1) is not installed";

Deno.test({
  name: "files: progress on a terminal, cleared at the end",
  ignore: NO_SCRIPT !== undefined,
  fn: async () => {
    await withTempDir(async (dir) => {
      await smallTree(dir);
      // script(1) runs flame on a pseudo-terminal and copies what it shows to stdout.
      const command = (await flameArgv(["files", "--folded", "-o", "out.folded", "t"]))
        .map((a) => `'${a}'`).join(" ");
      const out = await new Deno.Command("script", {
        args: ["-qec", command, "/dev/null"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
      }).output();
      const shown = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, shown);
      const clear = "\r\x1b[2K";
      assert.ok(shown.startsWith(`${clear}flame: walking: `), JSON.stringify(shown));
      assert.match(shown, /walking: [\d.]+ KiB \([\d,]+ bytes\) in 6 entries/);
      assert.ok(shown.endsWith(clear), JSON.stringify(shown));
    });
  },
});

Deno.test("files: a graph with nothing to draw says so, exit 1", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/empty`, new Uint8Array(0));
    const r = await runFlame(["files", "empty"], { cwd: dir });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "flame: error: nothing to draw: 0 bytes in 1 entry\n" +
        "  hint: --count draws the number of entries instead\n",
    );
    const c = await runFlame(["files", "--count", "empty"], { cwd: dir });
    assert.equal(c.code, 0, c.stderr);
  });
});

Deno.test("files: a name that is not UTF-8 keeps its bytes; FLAME_FILES_WALK=portable cannot", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/t`);
    const sh = ["-c", `printf xyz > "$(printf 'n\\377')"`];
    await new Deno.Command("sh", { args: sh, cwd: `${dir}/t` }).output();
    const native = await runFlame(["files", "--folded", "t"], { cwd: dir });
    assert.match(native.stdout, /^t;n\\xff 3$/m);
    assert.equal(native.stderr, "");
    const portable = await runFlame(["files", "--folded", "t"], {
      cwd: dir,
      env: { FLAME_FILES_WALK: "portable" },
    });
    assert.doesNotMatch(portable.stdout, /;n/);
    assert.match(portable.stderr, /^flame: warning: skipped 1 entry: 1 name not valid UTF-8/);
  });
});

Deno.test("files: --format and -o's extension pick the format; totals stay du's", async () => {
  await withTempDir(async (dir) => {
    await smallTree(dir);
    const total = await du(["-sb", "t"], dir);
    const json = await runFlame(["files", "-o", "t.json", "t"], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    const summary = JSON.parse(Deno.readTextFileSync(`${dir}/t.json`));
    assert.equal(summary.unit, "bytes");
    assert.equal(summary.total, total);
    const pprof = await runFlame(["files", "--format", "pprof", "t"], { cwd: dir });
    assert.equal(pprof.code, 0, pprof.stderr);
    const back = await runFlame(["convert", "files.pb.gz", "--format", "folded"], { cwd: dir });
    assert.equal(foldedTotal(back.stdout), total);
  });
});
