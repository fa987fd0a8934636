/**
 * Ctrl-C and SIGTERM while an output is being written: the old file stays, the temporary file
 * goes, and flame exits 130 or 143. First a writer that never ends (deterministic), then the
 * real dist/flame on large inputs: `diff --folded` (streamed, async), `svg` (one document),
 * and `files --folded` (a synchronous walk, where a guard process does the removing).
 */
import assert from "node:assert/strict";
import { generateProfile } from "../bench/render.ts";
import { flameArgv, repoPath } from "./helpers.ts";
import { names } from "./output_helpers.ts";

const OLD = "old content\n";

/** A directory holding only `out` (with OLD in it), removed afterwards. */
async function withOutputDir(fn: (dir: string, out: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "flame-signal-" });
  try {
    Deno.writeTextFileSync(`${dir}/out`, OLD);
    await fn(dir, `${dir}/out`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Polls `dir` until a *.tmp file shows up (true) or `done` settles first (false). Polling every
 * millisecond catches even the SVG's short write.
 */
async function temporaryFileIn(dir: string, done: Promise<unknown>): Promise<boolean> {
  let finished = false;
  done.then(() => finished = true, () => finished = true);
  while (!finished) {
    if (names(dir).some((n) => n.endsWith(".tmp"))) return true;
    await new Promise((r) => setTimeout(r, 1));
  }
  return false;
}

/** Waits until `dir` holds only `out`: a guard process removes the file just after flame dies. */
async function onlyOutputLeft(dir: string, ms = 5000): Promise<string[]> {
  const end = Date.now() + ms;
  while (names(dir).length > 1 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return names(dir);
}

function spawn(argv: string[]): Deno.ChildProcess {
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
}

const HARNESS = repoPath("test/output_signal_harness.ts");

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${signal} while writing: the temporary file goes, the old file stays, exit ${code}`, async () => {
    await withOutputDir(async (dir, out) => {
      const child = spawn([Deno.execPath(), "run", "-A", HARNESS, out]);
      const reader = child.stdout.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      assert.equal(first.trim(), "writing");
      assert.equal(names(dir).length, 2, names(dir).join());
      child.kill(signal);
      const status = await child.status;
      reader.releaseLock();
      await child.stdout.cancel();
      await child.stderr.cancel();
      assert.equal(status.code, code);
      assert.equal(status.signal, null, "exited by itself, after cleaning up");
      assert.deepEqual(names(dir), ["out"]);
      assert.equal(Deno.readTextFileSync(out), OLD);
    });
  });
}

Deno.test("a command that handles signals itself removes the temporary files with the writer's function", async () => {
  await withOutputDir(async (dir, out) => {
    const child = spawn([Deno.execPath(), "run", "-A", HARNESS, out, "--caller"]);
    const reader = child.stdout.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "writing");
    child.kill("SIGINT");
    const status = await child.status;
    reader.releaseLock();
    await child.stdout.cancel();
    await child.stderr.cancel();
    assert.equal(status.code, 7, "the command's own handler ran, not the writer's");
    assert.deepEqual(names(dir), ["out"]);
  });
});

// A profile of 60,000 stacks (about 27 MB folded): `flame diff --folded` takes about half a
// second to write it, `flame svg --minwidth 0` draws 17 MB.
let bigFolded: string | undefined;
function bigInput(): string {
  if (!bigFolded) {
    bigFolded = Deno.makeTempFileSync({ prefix: "flame-signal-", suffix: ".folded" });
    Deno.writeTextFileSync(bigFolded, generateProfile(60_000, 7));
  }
  return bigFolded;
}

/**
 * Runs dist/flame ARGS (writing into `dir`) and sends `signal` once its temporary file exists.
 * `signalled` says whether it came in time (else flame had finished).
 */
async function interruptFlame(
  args: string[],
  dir: string,
  signal: Deno.Signal,
  delayMs = 0,
): Promise<{ status: Deno.CommandStatus; signalled: boolean }> {
  const child = spawn(await flameArgv(args));
  const stdout = child.stdout.cancel();
  const stderr = new Response(child.stderr).text();
  const signalled = await temporaryFileIn(dir, child.status);
  if (signalled) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    child.kill(signal);
  }
  const status = await child.status;
  await stdout;
  const text = await stderr;
  if (!signalled) assert.equal(status.code, 0, text);
  return { status, signalled };
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`dist/flame diff --folded: ${signal} during the write leaves only the old file`, async () => {
    const input = bigInput();
    await withOutputDir(async (dir, out) => {
      const { status, signalled } = await interruptFlame(
        ["diff", "--folded", input, input, "-o", out],
        dir,
        signal,
      );
      assert.ok(signalled, "the write lasts long enough to be interrupted");
      assert.equal(status.code, code);
      assert.deepEqual(names(dir), ["out"]);
      assert.equal(Deno.readTextFileSync(out), OLD);
    });
  });
}

Deno.test("dist/flame svg: a signal as the document is written leaves no temporary file", async () => {
  const input = bigInput();
  // The document (17 MB) is written in some tens of milliseconds: the signal may land during
  // the write (the old file stays) or just after it (the new one is whole); never anything
  // else. A few tries make sure one lands during it.
  let during = 0;
  for (let attempt = 0; attempt < 5 && during === 0; attempt++) {
    await withOutputDir(async (dir, out) => {
      const { status, signalled } = await interruptFlame(
        ["svg", "--minwidth", "0", input, "-o", out],
        dir,
        "SIGINT",
      );
      assert.deepEqual(names(dir), ["out"]);
      const text = Deno.readTextFileSync(out);
      if (!signalled) return assert.ok(text.endsWith("</svg>\n"));
      assert.equal(status.code, 130);
      assert.ok(text === OLD || text.endsWith("</svg>\n"), `${text.length} bytes, cut`);
      if (text === OLD) during++;
    });
  }
  assert.ok(during > 0, "no signal landed during the write in 5 tries");
});

Deno.test("dist/flame files --folded: Ctrl-C stops the walk at once; the guard removes the file", async () => {
  await withOutputDir(async (dir, out) => {
    const t0 = Date.now();
    const { status, signalled } = await interruptFlame(
      ["files", "--folded", "/usr", "-o", out],
      dir,
      "SIGINT",
      100,
    );
    const waited = Date.now() - t0;
    assert.ok(signalled, "the walk lasts long enough to be interrupted");
    assert.equal(status.code, 130);
    assert.deepEqual(await onlyOutputLeft(dir), ["out"]);
    assert.equal(Deno.readTextFileSync(out), OLD);
    // The walk of /usr takes seconds; the signal ended it, not the walk's end.
    assert.ok(waited < 20_000, `${waited} ms`);
  });
});

Deno.test({
  name: "remove the big input",
  fn() {
    if (bigFolded) Deno.removeSync(bigFolded);
  },
});
