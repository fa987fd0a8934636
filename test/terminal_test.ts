import assert from "node:assert/strict";
import { quoteName } from "../src/terminal.ts";
import { NO_OTHER_USER, runFlame, runFlameAsNobody, withTempDir } from "./helpers.ts";

/** What bash makes of a quoted word: the name's bytes, if the quoting is right. */
function bashReads(word: string): Uint8Array {
  const out = new Deno.Command("bash", {
    args: ["-c", `printf '%s' ${word}`],
    env: { LC_ALL: "C.UTF-8" },
    stdout: "piped",
  }).outputSync();
  assert.ok(out.success, word);
  return out.stdout;
}

const CASES: [string, string][] = [
  ["plain.txt", "plain.txt"],
  ["/usr/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"],
  ["é中", "é中"],
  ["-dash", "-dash"],
  ["a b", "'a b'"],
  ["it's", `"it's"`],
  ["a'b c", `"a'b c"`],
  [`both'"`, `'both'\\''"'`],
  ['q"uote', `'q"uote'`],
  ["x$y", "'x$y'"],
  ["bang!", "'bang!'"],
  ["back\\slash", "'back\\slash'"],
  ["~tilde", "'~tilde'"],
  ["#hash", "'#hash'"],
  ["", "''"],
  ["dir\x1b[31mred", "'dir'$'\\033''[31mred'"],
  ["\x1bx", "$'\\033''x'"],
  ["a\nb", "'a'$'\\n''b'"],
  ["tab\there", "'tab'$'\\t''here'"],
  ["del\x7f", "'del'$'\\177'"],
  ["c1\u009bx", "'c1'$'\\302\\233''x'"],
  ["\x07\x08\x0b\x0c\r\x00", "$'\\a\\b\\v\\f\\r\\000'"],
  ["rlo\u202eevil", "'rlo'$'\\342\\200\\256''evil'"],
  ["it's\x1b", `'it'\\''s'$'\\033'`],
  ["emoji 😀\x1b", "'emoji 😀'$'\\033'"],
];

Deno.test("names are quoted as ls --quoting-style=shell-escape does", () => {
  for (const [name, quoted] of CASES) assert.equal(quoteName(name), quoted, JSON.stringify(name));
});

Deno.test("the same as GNU ls prints them (where ls escapes at all)", () => {
  // Where quoteName differs on purpose: ls prints bidi controls raw, and it starts some names
  // with an empty '' (one that begins with an escape, or holds a quote and an escape: valid,
  // but nothing). Names with "/" or a NUL are not file names.
  const differs = (n: string) =>
    n.includes("\u202e") || n.startsWith("\x1b") || (n.includes("'") && n.includes("\x1b"));
  const names = CASES.map(([n]) => n).filter((n) =>
    n !== "" && !n.includes("/") && !n.includes("\x00") && !differs(n)
  );
  const dir = Deno.makeTempDirSync({ prefix: "flame-quote-" });
  try {
    for (const n of names) Deno.writeFileSync(`${dir}/${n}`, new Uint8Array());
    const out = new Deno.Command("ls", {
      args: ["-1", "--quoting-style=shell-escape", dir],
      env: { LC_ALL: "C.UTF-8" },
      stdout: "piped",
    }).outputSync();
    assert.ok(out.success);
    const listed = new TextDecoder().decode(out.stdout).trimEnd().split("\n").sort();
    assert.deepEqual(listed, names.map(quoteName).sort());
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bash reads every quoted name back as the name's bytes", () => {
  const encoder = new TextEncoder();
  // bash strings end at a NUL (no file name holds one): that case is checked above only.
  for (const [name] of CASES.filter(([n]) => !n.includes("\x00"))) {
    assert.deepEqual(bashReads(quoteName(name)), encoder.encode(name), JSON.stringify(name));
  }
});

// deno-lint-ignore no-control-regex
const TERMINAL_ACTS_ON = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

Deno.test("nothing a terminal acts on survives: no ESC, no C1, no bidi control", () => {
  for (let cp = 0; cp < 0x10000; cp++) {
    if (cp >= 0xd800 && cp < 0xe000) continue;
    const q = quoteName(`a${String.fromCharCode(cp)}b`);
    assert.doesNotMatch(q, TERMINAL_ACTS_ON, `U+${cp.toString(16)}`);
  }
  assert.equal(quoteName("x\ud800y"), "'x'$'\\355\\240\\200''y'", "a lone surrogate");
});

Deno.test("hostile names take linear time", () => {
  const long = "\x1b[31m".repeat(100_000) + "a b".repeat(100_000);
  const t0 = performance.now();
  const q = quoteName(long);
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(q.startsWith("$'\\033'"));
});

Deno.test("flame files: names in messages are quoted, escape sequences never reach the terminal", async () => {
  const hostile = "dir\x1b[31mred\x1b]0;owned\x07";
  const quoted = "'dir'$'\\033''[31mred'$'\\033'']0;owned'$'\\a'";
  assert.equal(quoteName(hostile), quoted);
  await withTempDir(async (dir) => {
    const missing = await runFlame(["files", hostile], { cwd: dir });
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `flame: error: ${quoted}: no such file or directory\n`);
    Deno.mkdirSync(`${dir}/${hostile}`);
    Deno.writeTextFileSync(`${dir}/${hostile}/file`, "x");
    const out = `out\x1b[2J.svg`;
    const wrote = await runFlame(["files", hostile, "-o", out], { cwd: dir });
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.match(wrote.stderr, /^flame: wrote 'out'\$'\\033''\[2J\.svg': /);
    assert.ok(!wrote.stderr.includes("\x1b"), JSON.stringify(wrote.stderr));
    assert.ok(Deno.statSync(`${dir}/${out}`).isFile);
  });
});

Deno.test({
  name: "flame files: a skipped directory's name is quoted in the warning",
  ignore: NO_OTHER_USER !== undefined, // NO_OTHER_USER says why
  async fn() {
    await withTempDir(async (dir) => {
      Deno.chmodSync(dir, 0o755);
      const locked = "locked\x1b[8m";
      Deno.mkdirSync(`${dir}/t/${locked}`, { recursive: true });
      Deno.chmodSync(`${dir}/t/${locked}`, 0o000);
      const r = await runFlameAsNobody(["files", "--folded", "t"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr,
        "flame: warning: skipped 1 entry: 1 permission denied ('t/locked'$'\\033''[8m')\n",
      );
    });
  },
});
