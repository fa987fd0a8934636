import assert from "node:assert/strict";
import { runFlame, withTempDir } from "./helpers.ts";

Deno.test("--version prints the version", async () => {
  const r = await runFlame(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^flame \d+\.\d+\.\d+\n$/);
});

Deno.test("--help lists every command with examples", async () => {
  const r = await runFlame(["--help"]);
  assert.equal(r.code, 0);
  for (const name of ["run", "record", "report", "collapse", "svg", "diff", "files"]) {
    assert.match(r.stdout, new RegExp(`^  ${name} `, "m"));
  }
  assert.match(r.stdout, /Examples:/);
});

Deno.test("an unknown command prints one line and a hint, exit 2", async () => {
  const r = await runFlame(["colapse"]);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr,
    /^flame: error: unknown command 'colapse'\n {2}hint: did you mean 'flame collapse'/,
  );
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
});

Deno.test("an unknown option prints one line and a hint, exit 2", async () => {
  const r = await runFlame(["collapse", "--bogus"]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /^flame: error: collapse: unknown option '--bogus'\n {2}hint: run 'flame collapse --help'/,
  );
});

Deno.test("every command has --help with usage and examples", async () => {
  for (const name of ["run", "record", "report", "collapse", "svg", "diff", "files"]) {
    const r = await runFlame([name, "--help"]);
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, /^Usage: flame /, name);
    assert.match(r.stdout, /Examples:/, name);
  }
});

Deno.test("an option missing its value is one line and a hint, node's advice left out", async () => {
  const r = await runFlame(["record", "-p", "-d", "1"]);
  assert.equal(r.code, 2);
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^flame: error: record: option '-p' argument is ambiguous$/);
  assert.match(lines[1], /^ {2}hint: /);
});

Deno.test("-o /dev/stdout and -o FIFO are written in place, never replaced", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/x.folded`, "a;b 3\na;c 2\n");
    const link = Deno.readLinkSync("/dev/stdout");
    try {
      const viaLink = await runFlame(["collapse", `${dir}/x.folded`, "-o", "/dev/stdout"]);
      assert.equal(viaLink.code, 0, viaLink.stderr);
      assert.equal(viaLink.stdout, "a;b 3\na;c 2\n");
      assert.ok(Deno.lstatSync("/dev/stdout").isSymlink);
      const svg = await runFlame(["svg", `${dir}/x.folded`, "-o", "/dev/stdout"]);
      assert.match(svg.stdout, /^<\?xml/);
      assert.ok(Deno.lstatSync("/dev/stdout").isSymlink);
    } finally {
      // A writer that renames over /dev/stdout (as root) would break this machine: mend it.
      if (!Deno.lstatSync("/dev/stdout").isSymlink) {
        Deno.removeSync("/dev/stdout");
        Deno.symlinkSync(link, "/dev/stdout");
      }
    }
    // A FIFO: a reader gets the bytes, and the FIFO stays one.
    const fifo = `${dir}/pipe`;
    const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
    assert.ok(made.success);
    const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" }).output();
    const w = await runFlame(["collapse", `${dir}/x.folded`, "-o", fifo]);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(new TextDecoder().decode((await reader).stdout), "a;b 3\na;c 2\n");
    assert.ok(Deno.lstatSync(fifo).isFifo);
  });
});
