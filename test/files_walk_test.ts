/**
 * The walk against du on trees with every awkward case: both implementations (native FFI and
 * portable), all three measures, faults made to happen on purpose.
 */
import assert from "node:assert/strict";
import { escapeName, unescapeName } from "../src/files/escape.ts";
import { FoldedLineSink } from "../src/files/sinks.ts";
import {
  REASONS,
  walk,
  type WalkOptions,
  type WalkSink,
  type WalkStats,
} from "../src/files/walk.ts";
import { openLibc } from "../src/files/libc.ts";
import { withTempDir } from "./helpers.ts";

const METHODS = ["native", "portable"] as const;
const nativeAvailable = openLibc() !== undefined;

/** Why this machine cannot mount a file system for a test (not root, no permission), if so. */
function cannotMount(): string | undefined {
  const dir = Deno.makeTempDirSync({ prefix: "flame-mount-probe-" });
  try {
    const out = new Deno.Command("mount", {
      args: ["-t", "tmpfs", "none", dir],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (!out.success) {
      return `cannot mount here (${new TextDecoder().decode(out.stderr).split("\n")[0]})`;
    }
    new Deno.Command("umount", { args: [dir] }).outputSync();
    return undefined;
  } catch (err) {
    return `cannot mount here (${err instanceof Error ? err.message : err})`;
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const NO_MOUNT = cannotMount();

/** Runs a command; resolves to its stdout, throws with its stderr when it fails. */
async function sh(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(out.stderr)}`);
  return dec.decode(out.stdout);
}

/** The first number du prints for `args` (its total with -s). */
async function du(args: string[], cwd: string): Promise<number> {
  const out = await sh("du", args, cwd);
  return Number(out.trim().split("\n").at(-1)!.split("\t")[0]);
}

/** Builds the awkward tree in `dir/t` and returns its path. */
async function buildTree(dir: string): Promise<string> {
  const t = `${dir}/t`;
  await Deno.mkdir(`${t}/sub/deeper/deepest`, { recursive: true });
  await Deno.mkdir(`${t}/empty`);
  const write = (path: string, size: number) =>
    Deno.writeFile(`${t}/${path}`, new Uint8Array(size).fill(0x61));
  await write("plain.txt", 100);
  await write("with space.txt", 1234);
  await write("semi;colon", 3);
  await write("new\nline", 4);
  await write("tab\there", 5);
  await write(`<&"'>.html`, 6);
  await write("ünïcödé ✓.txt", 7);
  await write("日本語；全角", 8);
  await write("back\\slash", 9);
  await write("greek\u037elookalike", 10);
  await write("😀", 11);
  await write("empty-file", 0);
  await write("sub/deeper/deepest/bottom", 70000);
  // Hard links: three names, one inode, counted once.
  await write("sub/data.bin", 5000);
  await Deno.link(`${t}/sub/data.bin`, `${t}/hard-1`);
  await Deno.link(`${t}/sub/data.bin`, `${t}/sub/deeper/hard-2`);
  // A sparse file: 10 MiB apparent, next to nothing allocated.
  await Deno.writeFile(`${t}/sparse`, new Uint8Array(0));
  await Deno.truncate(`${t}/sparse`, 10 * 1024 * 1024);
  // Symbolic links are not followed: loops, a dangling link, a link to a directory.
  await Deno.symlink("loop-b", `${t}/loop-a`);
  await Deno.symlink("loop-a", `${t}/loop-b`);
  await Deno.symlink("self", `${t}/self`);
  await Deno.symlink("/nonexistent/target", `${t}/dangling`);
  await Deno.symlink("sub", `${t}/dir-link`);
  await Deno.symlink("/usr", `${t}/usr-link`);
  // Special files count their own size.
  await sh("mkfifo", [`${t}/fifo`]);
  // Closing a listener unlinks its socket; a second link to it stays.
  const listener = Deno.listen({ transport: "unix", path: `${t}/socket.tmp` });
  await Deno.link(`${t}/socket.tmp`, `${t}/socket`);
  listener.close();
  await Deno.remove(`${t}/socket.tmp`).catch(() => {});
  assert.ok(Deno.lstatSync(`${t}/socket`).isSocket);
  // A name that is not UTF-8 (Deno's API cannot make one, so the shell does).
  await sh("sh", ["-c", `printf xyz > "$(printf 'bad\\377name')"`], t);
  return t;
}

/** Collects folded output in memory. */
function collect(): { sink: FoldedLineSink; text: () => string } {
  const chunks: Uint8Array[] = [];
  const sink = new FoldedLineSink({ write: (b) => chunks.push(b.slice()) }, 4096);
  return {
    sink,
    text: () => {
      sink.flush();
      return new TextDecoder().decode(concat(chunks));
    },
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Folded lines to a map of stack to value (the value is after the last space). */
function parseLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const at = line.lastIndexOf(" ");
    assert.ok(at > 0, `bad line ${JSON.stringify(line)}`);
    const stack = line.slice(0, at);
    assert.ok(!out.has(stack), `stack twice: ${stack}`);
    out.set(stack, Number(line.slice(at + 1)));
  }
  return out;
}

function sum(stacks: Map<string, number>): number {
  let total = 0;
  for (const v of stacks.values()) total += v;
  return total;
}

/** Walks `roots` into folded lines. */
function walkFolded(
  roots: string[],
  options: WalkOptions,
): { stacks: Map<string, number>; stats: WalkStats } {
  const out = collect();
  const stats = walk(roots, out.sink, options);
  return { stacks: parseLines(out.text()), stats };
}

/** Every frame of every stack, unescaped, names an entry that exists (checked by lstat). */
function assertStacksExist(root: string, stacks: Map<string, number>): void {
  const rootFrame = escapeName(root);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (const stack of stacks.keys()) {
    const frames = stack.split(";");
    assert.equal(frames[0], rootFrame, stack);
    let path: string;
    try {
      path = [root, ...frames.slice(1).map((f) => decoder.decode(unescapeName(f)))].join("/");
    } catch {
      continue; // not UTF-8: Deno cannot name it
    }
    Deno.lstatSync(path);
  }
}

for (const method of METHODS) {
  const ignore = method === "native" && !nativeAvailable;
  const native = method === "native";

  Deno.test({
    name: `walk (${method}): apparent sizes total du -sb; every entry has its own frame`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        const t = await buildTree(dir);
        const { stacks, stats } = walkFolded([t], { method });
        const R = escapeName(t);
        const size = (p: string) => Deno.lstatSync(`${t}/${p}`).size;
        // Names as written, except the folded format's own separators.
        const expected: [string, string][] = [
          ["plain.txt", "plain.txt"],
          ["with space.txt", "with space.txt"],
          ["semi\u037ecolon", "semi;colon"],
          ["new\u240aline", "new\nline"],
          ["tab\u2409here", "tab\there"],
          [`<&"'>.html`, `<&"'>.html`],
          ["ünïcödé ✓.txt", "ünïcödé ✓.txt"],
          ["日本語；全角", "日本語；全角"],
          ["back\\\\slash", "back\\slash"],
          ["greek\\\u037elookalike", "greek\u037elookalike"],
          ["😀", "😀"],
          ["empty-file", "empty-file"],
          ["sparse", "sparse"],
          ["loop-a", "loop-a"],
          ["self", "self"],
          ["dangling", "dangling"],
          ["dir-link", "dir-link"],
          ["usr-link", "usr-link"],
          ["fifo", "fifo"],
          ["socket", "socket"],
          ["empty", "empty"],
          ["sub;deeper;deepest;bottom", "sub/deeper/deepest/bottom"],
          ["sub;deeper;deepest", "sub/deeper/deepest"],
        ];
        for (const [frame, path] of expected) {
          assert.equal(stacks.get(`${R};${frame}`), size(path), frame);
        }
        assert.equal(stacks.get(R), Deno.lstatSync(t).size, "the root's own size");
        assert.equal(stacks.get(`${R};loop-a`), "loop-b".length, "a link counts its own size");
        assert.equal(stacks.get(`${R};sparse`), 10 * 1024 * 1024);
        assert.equal(stacks.get(`${R};fifo`), 0);
        // Links are not followed: nothing below them.
        for (const stack of stacks.keys()) {
          assert.ok(!stack.startsWith(`${R};dir-link;`) && !stack.startsWith(`${R};usr-link;`));
        }
        const links = [`${R};hard-1`, `${R};sub;data.bin`, `${R};sub;deeper;hard-2`];
        assert.equal(links.filter((l) => stacks.has(l)).length, 1, "a hard link counts once");
        assert.equal(stats.hardLinks, 2);
        assertStacksExist(t, stacks);

        const bad = `${R};bad\\xffname`;
        const duTotal = await du(["-sb", t], dir);
        if (native) {
          assert.equal(stacks.get(bad), 3, "a non-UTF-8 name keeps its bytes as \\xNN");
          assert.equal(stats.skipped.size, 0);
          assert.equal(sum(stacks), duTotal);
        } else {
          // Deno's readDir hands back U+FFFD for the byte, so lstat cannot find the file.
          assert.equal(stacks.get(bad), undefined);
          assert.equal(stats.skipped.get(REASONS.badName)?.count, 1);
          assert.equal(sum(stacks) + 3, duTotal);
        }
        assert.equal(stats.total, sum(stacks));
        assert.equal(stats.entries, stacks.size);
        assert.equal(stats.method, method);
      }),
  });

  Deno.test({
    name: `walk (${method}): --disk-usage totals du --block-size=1, --count du --inodes`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        const t = await buildTree(dir);
        const blocks = walkFolded([t], { method, measure: "blocks" });
        const count = walkFolded([t], { method, measure: "count" });
        const R = escapeName(t);
        assert.ok(blocks.stacks.get(`${R};sparse`)! < 1024 * 1024, "sparse file: few blocks");
        assert.equal(
          blocks.stacks.get(`${R};plain.txt`),
          Deno.lstatSync(`${t}/plain.txt`).blocks! * 512,
        );
        for (const v of count.stacks.values()) assert.equal(v, 1);
        // The portable walk cannot stat the non-UTF-8 name (see the first test).
        const badBlocks = Number(await sh("sh", ["-c", "stat -c %b bad*name"], t)) * 512;
        assert.equal(
          sum(blocks.stacks) + (native ? 0 : badBlocks),
          await du(["-s", "--block-size=1", t], dir),
        );
        assert.equal(sum(count.stacks) + (native ? 0 : 1), await du(["-s", "--inodes", t], dir));
      }),
  });

  Deno.test({
    name: `walk (${method}): hard links count once across DIRs; a DIR given twice is walked once`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        await Deno.mkdir(`${dir}/a`);
        await Deno.mkdir(`${dir}/b`);
        await Deno.writeFile(`${dir}/a/f`, new Uint8Array(3000));
        await Deno.link(`${dir}/a/f`, `${dir}/b/g`);
        const { stacks, stats } = walkFolded([`${dir}/a`, `${dir}/b`, `${dir}/a/`], { method });
        assert.equal(sum(stacks), await du(["-sbc", `${dir}/a`, `${dir}/b`], dir));
        assert.equal(stats.hardLinks, 1);
        assert.deepEqual(
          [...stacks.keys()].sort(),
          [escapeName(`${dir}/a`), escapeName(`${dir}/a`) + ";f", escapeName(`${dir}/b`)].sort(),
        );
      }),
  });

  Deno.test({
    name: `walk (${method}): a DIR that is a file, a link, or a link with a trailing slash`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        await Deno.mkdir(`${dir}/d`);
        await Deno.writeFile(`${dir}/d/f`, new Uint8Array(700));
        await Deno.symlink("d", `${dir}/link`);
        const file = walkFolded([`${dir}/d/f`], { method });
        assert.deepEqual([...file.stacks], [[escapeName(`${dir}/d/f`), 700]]);
        // Like du: the link itself, unless a trailing slash asks for what it points to.
        const link = walkFolded([`${dir}/link`], { method });
        assert.deepEqual([...link.stacks], [[escapeName(`${dir}/link`), 1]]);
        const target = walkFolded([`${dir}/link/`], { method });
        assert.equal(target.stacks.get(escapeName(`${dir}/link`) + ";f"), 700);
        assert.equal(sum(target.stacks), await du(["-sb", `${dir}/link/`], dir));
      }),
  });

  Deno.test({
    name: `walk (${method}): entries that vanish during the walk are skipped and tallied`,
    ignore,
    fn: () =>
      withTempDir(async (dir) => {
        const t = `${dir}/t`;
        for (const d of ["d1", "d2", "d3"]) {
          await Deno.mkdir(`${t}/${d}`, { recursive: true });
          await Deno.writeFile(`${t}/${d}/inner`, new Uint8Array(10));
        }
        await Deno.mkdir(`${t}/files`);
        for (let i = 0; i < 5; i++) await Deno.writeFile(`${t}/files/f${i}`, new Uint8Array(1));
        const out = collect();
        let removedDirs = false;
        let removedFiles = false;
        // The sink sees the walk as it happens: delete what has been listed but not reached.
        const sink: WalkSink = {
          enter(name, start, end, value) {
            out.sink.enter(name, start, end, value);
            const entered = new TextDecoder().decode(name.subarray(start, end));
            if (!removedDirs && entered.startsWith("d")) {
              removedDirs = true;
              // Of the two not entered yet, one goes away, one becomes a link to elsewhere.
              const [gone, linked] = ["d1", "d2", "d3"].filter((d) => d !== entered);
              Deno.removeSync(`${t}/${gone}`, { recursive: true });
              Deno.removeSync(`${t}/${linked}`, { recursive: true });
              Deno.symlinkSync("/usr", `${t}/${linked}`);
            }
          },
          entry(name, start, end, value) {
            out.sink.entry(name, start, end, value);
            const seen = new TextDecoder().decode(name.subarray(start, end));
            if (!removedFiles && seen.startsWith("f")) {
              removedFiles = true;
              for (let i = 0; i < 5; i++) {
                if (`f${i}` !== seen) Deno.removeSync(`${t}/files/f${i}`);
              }
            }
          },
          leave: () => out.sink.leave(),
        };
        const stats = walk([t], sink, { method });
        const vanished = stats.skipped.get(REASONS.vanished);
        assert.ok(removedDirs && removedFiles);
        // A directory could not be opened, four files could not be stat'ed.
        assert.equal(vanished?.count, 5);
        assert.match(vanished!.example, /\/t\/(d\d|files\/f\d)$/);
        assert.equal(stats.skipped.get(REASONS.replaced)?.count, 1);
        const stacks = parseLines(out.text());
        assert.equal(stacks.size, 1 + 3 + 1 + 1 + 1, "root, d1-3, one inner, files, one f");
        assert.equal(sum(stacks), stats.total);
        assert.ok(stacks.has(escapeName(t) + ";files"));
      }),
  });

  Deno.test({
    name: `walk (${method}): a directory the user cannot read is tallied, its size still counts` +
      (Deno.uid() === 0
        ? " (ignored as root, who reads every directory: files_cli_test " +
          "runs this case as nobody)"
        : ""),
    ignore: ignore || Deno.uid() === 0,
    fn: () =>
      withTempDir(async (dir) => {
        await Deno.mkdir(`${dir}/t/locked`, { recursive: true });
        await Deno.writeFile(`${dir}/t/locked/secret`, new Uint8Array(99));
        await Deno.chmod(`${dir}/t/locked`, 0o000);
        try {
          const { stacks, stats } = walkFolded([`${dir}/t`], { method });
          assert.equal(stats.skipped.get(REASONS.denied)?.count, 1);
          assert.ok(stacks.has(escapeName(`${dir}/t`) + ";locked"));
        } finally {
          await Deno.chmod(`${dir}/t/locked`, 0o755);
        }
      }),
  });

  Deno.test({
    name: `walk (${method}): a bind mount inside itself is not entered again${
      NO_MOUNT ? ` (ignored: ${NO_MOUNT})` : ""
    }`,
    ignore: ignore || NO_MOUNT !== undefined,
    fn: () =>
      withTempDir(async (dir) => {
        const t = `${dir}/t`;
        await Deno.mkdir(`${t}/sub/loop`, { recursive: true });
        await Deno.writeFile(`${t}/sub/f`, new Uint8Array(3));
        await sh("mount", ["--bind", t, `${t}/sub/loop`]);
        try {
          const { stacks, stats } = walkFolded([t], { method });
          assert.equal(stats.skipped.get(REASONS.cycle)?.count, 1);
          assert.equal(sum(stacks), await du(["-sb", t], dir)); // du leaves it out too
        } finally {
          await sh("umount", [`${t}/sub/loop`]);
        }
      }),
  });

  Deno.test({
    name: `walk (${method}): oneFileSystem leaves out other file systems like du -x${
      NO_MOUNT ? ` (ignored: ${NO_MOUNT})` : ""
    }`,
    ignore: ignore || NO_MOUNT !== undefined,
    fn: () =>
      withTempDir(async (dir) => {
        const t = `${dir}/t`;
        await Deno.mkdir(`${t}/mnt`, { recursive: true });
        await Deno.writeFile(`${t}/here`, new Uint8Array(5));
        await sh("mount", ["-t", "tmpfs", "none", `${t}/mnt`]);
        try {
          await Deno.writeFile(`${t}/mnt/there`, new Uint8Array(5000));
          const all = walkFolded([t], { method });
          const x = walkFolded([t], { method, oneFileSystem: true });
          assert.equal(sum(all.stacks), await du(["-sb", t], dir));
          assert.equal(sum(x.stacks), await du(["-sxb", t], dir));
          assert.ok(all.stacks.has(escapeName(t) + ";mnt;there"));
          assert.ok(!x.stacks.has(escapeName(t) + ";mnt"));
          assert.equal(x.stats.otherFileSystems, 1);
        } finally {
          await sh("umount", [`${t}/mnt`]);
        }
      }),
  });
}

Deno.test({
  name: "walk: native and portable give the same lines on a tree of valid names",
  ignore: !nativeAvailable,
  fn: () =>
    withTempDir(async (dir) => {
      const t = await buildTree(dir);
      await sh("sh", ["-c", "rm -f bad*name"], t);
      const a = walkFolded([t], { method: "native" });
      const b = walkFolded([t], { method: "portable" });
      // Which of the hard links is kept depends on listing order, which both share.
      assert.deepEqual([...a.stacks].sort(), [...b.stacks].sort());
    }),
});

Deno.test("walk: progress is reported, at least once at the end", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/t`);
    for (let i = 0; i < 10; i++) await Deno.writeFile(`${dir}/t/f${i}`, new Uint8Array(i));
    const calls: [number, number][] = [];
    walk([`${dir}/t`], collect().sink, { onProgress: (n, total) => calls.push([n, total]) });
    assert.deepEqual(calls.at(-1), [11, 45 + Deno.lstatSync(`${dir}/t`).size]);
  });
});

Deno.test("walk: a DIR that does not exist is tallied, not thrown", () => {
  const stats = walk(["/nonexistent/flame-test"], collect().sink, {});
  assert.equal(stats.skipped.get(REASONS.vanished)?.count, 1);
  assert.equal(stats.entries, 0);
});
