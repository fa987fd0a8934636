/**
 * Output failures as users meet them, through dist/flame: one line naming the path and the
 * cause (never "internal error"), found before recording for the capture commands, and
 * /dev/stdout written, not replaced.
 */
import assert from "node:assert/strict";
import { generateProfile } from "../bench/render.ts";
import { NO_OTHER_USER, repoPath, runFlame, runFlameAsNobody, withTempDir } from "./helpers.ts";
import { mountTmpfs, names, TMPFS_UNAVAILABLE } from "./output_helpers.ts";

const SIMPLE = repoPath("fixtures/folded/simple.folded");

/** The one error line flame printed, checked to be the only line and not an internal error. */
function errorLine(stderr: string): string {
  const lines = stderr.trim().split("\n").filter((l) => !l.startsWith("flame: warning:"));
  assert.equal(lines.length, 1, stderr);
  assert.doesNotMatch(lines[0], /internal error/);
  return lines[0];
}

Deno.test("svg -o naming a directory, a missing directory, /dev/full: one line each", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/sub`);
    const cases: [string, RegExp][] = [
      [`${dir}/sub`, /^flame: error: cannot write .*\/sub: is a directory$/],
      [`${dir}/no/x.svg`, /^flame: error: cannot write .*: the directory .*\/no does not exist$/],
      ["/dev/full", /^flame: error: cannot write \/dev\/full: no space left on device$/],
    ];
    for (const [out, pattern] of cases) {
      const r = await runFlame(["svg", SIMPLE, "-o", out]);
      assert.equal(r.code, 1, out);
      assert.match(errorLine(r.stderr), pattern);
    }
    assert.deepEqual(names(dir), ["sub"]);
    assert.deepEqual(names(`${dir}/sub`), []);
  });
});

Deno.test({
  name: "svg -o on a full disk (a 64 KiB tmpfs): one line, the old graph kept, nothing left",
  ignore: TMPFS_UNAVAILABLE !== undefined, // TMPFS_UNAVAILABLE says why
  async fn() {
    const disk = mountTmpfs(64);
    if ("reason" in disk) throw new Error(disk.reason);
    try {
      await withTempDir(async (dir) => {
        Deno.writeTextFileSync(`${dir}/in.folded`, generateProfile(2000, 3));
        Deno.writeTextFileSync(`${disk.path}/graph.svg`, "old");
        const r = await runFlame(["svg", `${dir}/in.folded`, "-o", `${disk.path}/graph.svg`]);
        assert.equal(r.code, 1);
        assert.match(errorLine(r.stderr), /cannot write .*graph\.svg: no space left on device$/);
        assert.deepEqual(names(disk.path), ["graph.svg"]);
        assert.equal(Deno.readTextFileSync(`${disk.path}/graph.svg`), "old");
      });
    } finally {
      disk.unmount();
    }
  },
});

Deno.test({
  name: "svg -o into a directory the user cannot write: permission denied, in one line",
  ignore: NO_OTHER_USER !== undefined, // NO_OTHER_USER says why
  async fn() {
    await withTempDir(async (dir) => {
      Deno.chmodSync(dir, 0o755);
      Deno.copyFileSync(SIMPLE, `${dir}/in.folded`);
      const r = await runFlameAsNobody(["svg", `${dir}/in.folded`, "-o", `${dir}/out.svg`]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        errorLine(r.stderr),
        /^flame: error: cannot write .*out\.svg: permission denied$/,
      );
      assert.deepEqual(names(dir), ["in.folded"]);
    });
  },
});

Deno.test("-o /dev/stdout writes to stdout and leaves /dev/stdout alone; so does a link to it", async () => {
  const r = await runFlame(["svg", SIMPLE, "-o", "/dev/stdout"]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith("<?xml") && r.stdout.endsWith("</svg>\n"));
  assert.ok(Deno.lstatSync("/dev/stdout").isSymlink, "/dev/stdout is still a link");
  await withTempDir(async (dir) => {
    Deno.symlinkSync("/proc/self/fd/1", `${dir}/out`);
    const linked = await runFlame(["svg", SIMPLE, "-o", `${dir}/out`]);
    assert.equal(linked.code, 0, linked.stderr);
    assert.equal(linked.stdout, r.stdout);
    assert.ok(Deno.lstatSync(`${dir}/out`).isSymlink, "the link is still a link");
    assert.deepEqual(names(dir), ["out"]);
  });
});

Deno.test("capture commands check -o, --folded and --keep-data before recording", async () => {
  await withTempDir(async (dir) => {
    const cases: [string[], RegExp][] = [
      [["run", "-o", dir, "--", "sleep", "30"], /cannot write .*: is a directory$/],
      [["run", "-o", `${dir}/no/x.svg`, "--", "sleep", "30"], /the directory .*\/no does not/],
      [["run", "--folded", "/dev/full/x", "--", "sleep", "30"], /a part of the path is not a dir/],
      [["run", "--keep-data", `${dir}/no/p.data`, "--", "sleep", "30"], /\/no does not exist/],
      [["record", "-o", dir, "--pid", String(Deno.pid)], /is a directory$/],
    ];
    for (const [args, pattern] of cases) {
      const t0 = Date.now();
      const r = await runFlame(args, { cwd: dir });
      assert.equal(r.code, 1, `${args.join(" ")}: ${r.stderr}`);
      assert.match(errorLine(r.stderr), pattern);
      assert.ok(Date.now() - t0 < 20_000, "it did not record first");
    }
    assert.deepEqual(names(dir), []);
  });
});
