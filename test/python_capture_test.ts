/**
 * Python capture end to end through dist/flame, on every CPython here: `flame run` and
 * `flame record -p` with the interpreter reader alone (no perf, no perf rights), and where perf
 * is missing. fixtures/capture/mixed.py runs <module> → main → work → compress/encode/read_back
 * /spin.
 */
import assert from "node:assert/strict";
import { NO_OTHER_USER, repoPath, runFlame, runFlameAsNobody, withTempDir } from "./helpers.ts";
import { fixture, type Python, pythons, startProgram } from "./python_helpers.ts";

const MIXED = repoPath("fixtures/capture/mixed.py");
const CHAIN =
  /^<module> \(mixed\.py\);main \(mixed\.py\);work \(mixed\.py\);(?:compress|encode|read_back|spin) \(mixed\.py\)/m;

const missingNote = (p: Python) => (p.missing ? ` (ignored: ${p.missing})` : "");

/** Folded lines as [stack, count] pairs. */
function folded(text: string): [string, number][] {
  return text.trim().split("\n").map((l) => {
    const i = l.lastIndexOf(" ");
    return [l.slice(0, i), Number(l.slice(i + 1))];
  });
}

for (const python of pythons()) {
  Deno.test({
    name: `python capture ${python.label}: run and record -p with the reader alone` +
      missingNote(python),
    ignore: python.missing !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        const run = await runFlame([
          "run",
          "--python",
          "reader",
          "-o",
          `${dir}/run.folded`,
          "--",
          python.exe,
          MIXED,
          "1",
          `${dir}/scratch`,
        ], { cwd: dir });
        assert.equal(run.code, 0, run.stderr);
        const lines = folded(Deno.readTextFileSync(`${dir}/run.folded`));
        const total = lines.reduce((s, [, n]) => s + n, 0);
        const chained = lines.filter(([s]) => CHAIN.test(s)).reduce((s, [, n]) => s + n, 0);
        assert.ok(chained / total >= 0.9, `${chained} of ${total} hold the whole chain`);
        // Weights are time: whole ticks, each one 99 Hz period (more where ticks were skipped).
        const gcd = (a: number, b: number): number => b === 0 ? a : gcd(b, a % b);
        const tick = lines.reduce((g, [, n]) => gcd(g, n), 0);
        assert.ok(tick >= 10101010 && tick < 1e9, `ticks of ${tick} ns`);
        assert.ok(total <= 1.5e9, `${total} ns in a 1-second run`);

        const program = await startProgram(python.exe, [MIXED, "0", `${dir}/scratch2`]);
        try {
          const rec = await runFlame([
            "record",
            "--python",
            "reader",
            "-p",
            String(program.pid),
            "-d",
            "1",
            "-o",
            `${dir}/rec.folded`,
          ], { cwd: dir });
          assert.equal(rec.code, 0, rec.stderr);
          assert.match(rec.stderr, /Python stacks read from the interpreter/);
          assert.match(Deno.readTextFileSync(`${dir}/rec.folded`), CHAIN);
        } finally {
          await program.stop();
        }
      });
    },
  });
}

const PY311 = pythons().find((p) => p.label === "3.11.7")!;

Deno.test({
  name: "python capture: without perf, the reader draws the graph and says so" +
    missingNote(PY311),
  ignore: PY311.missing !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const r = await runFlame(
        ["run", "-o", `${dir}/p.folded`, "--", PY311.exe, MIXED, "0.6", `${dir}/s`],
        { cwd: dir, env: { PERF: "/nonexistent/perf" } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /perf is not installed: Python stacks are read from the interpreter/);
      assert.match(Deno.readTextFileSync(`${dir}/p.folded`), CHAIN);
    });
  },
});

/** A Python another user can run (pyenv's live in root's home). */
const DEBIAN311 = pythons().find((p) => p.label === "3.11 (Debian)")!;

Deno.test({
  name: "python capture: a user with no perf rights profiles their own program" +
    missingNote(DEBIAN311) + (NO_OTHER_USER ? ` (ignored: ${NO_OTHER_USER})` : ""),
  ignore: DEBIAN311.missing !== undefined || NO_OTHER_USER !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o777);
      const mixed = `${dir}/mixed.py`; // where nobody can read it
      Deno.copyFileSync(MIXED, mixed);
      await Deno.chmod(mixed, 0o644);
      // perf is there but refuses: kernel.perf_event_paranoid is not this test's to change, so
      // perf is replaced by one that fails as a refused perf does.
      const fake = `${dir}/perf`;
      Deno.writeTextFileSync(
        fake,
        "#!/bin/sh\necho 'Error: Access to performance monitoring and observability operations is limited.' >&2\nexit 255\n",
      );
      await Deno.chmod(fake, 0o755);
      const r = await runFlameAsNobody(
        ["run", "-o", `${dir}/u.folded`, "--", DEBIAN311.exe, mixed, "0.6", `${dir}/s`],
        { cwd: dir, env: { PERF: fake } },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /perf is not permitted to record .*: Python stacks are read from/);
      assert.match(Deno.readTextFileSync(`${dir}/u.folded`), CHAIN);
    });
  },
});

Deno.test({
  name: "python capture: --by-tid roots carry Python's thread names; --idle keeps the sleeper" +
    missingNote(PY311),
  ignore: PY311.missing !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const program = await startProgram(PY311.exe, [fixture("stacks.py")]);
      try {
        const r = await runFlame([
          "record",
          "-p",
          String(program.pid),
          "-d",
          "1",
          "--idle",
          "--by-tid",
          "-o",
          `${dir}/t.folded`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        const text = Deno.readTextFileSync(`${dir}/t.folded`);
        const pid = program.pid;
        assert.match(
          text,
          new RegExp(`^MainThread-${pid}/\\d+;.*inner \\(stacks\\.py\\) \\d+$`, "m"),
        );
        assert.match(
          text,
          new RegExp(`^sleepy-worker-${pid}/\\d+;.*sleeper \\(stacks\\.py\\) \\d+$`, "m"),
        );
      } finally {
        await program.stop();
      }
    });
  },
});

Deno.test("python capture: a script that is not executable is refused as a shell would", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/app.py`, "#!/usr/bin/env python3\nprint('hi')\n");
    Deno.chmodSync(`${dir}/app.py`, 0o644);
    const r = await runFlame(
      ["run", "--python", "reader", "-o", `${dir}/o.svg`, "--", "./app.py"],
      {
        cwd: dir,
      },
    );
    assert.equal(r.code, 126, r.stderr);
    assert.match(r.stderr, /\.\/app\.py: permission denied \(not executable\)/);
  });
});
