/**
 * Hostile and odd input for every text reader: endless lines, counts no number holds, binary
 * files, empty and blank files. The inputs are made here; time limits are loose (a loaded
 * 2-core machine), memory limits tight enough to catch a reader that holds a whole line.
 */
import assert from "node:assert/strict";
import { describeBinary, LineSplitter, MAX_LINE_CHARS, SNIFF_BYTES } from "../src/io/input.ts";
import { collapseInput } from "../src/collapse/stream.ts";
import { FoldedCollapser } from "../src/collapse/detect.ts";
import { DtraceCollapser } from "../src/collapse/dtrace.ts";
import { PerfCollapser } from "../src/collapse/perf.ts";
import { type Collapser, InputFormatError } from "../src/collapse/types.ts";
import { CountTotals, type FoldedLine, readFolded, readFoldedSync } from "../src/folded/parse.ts";
import { formatCount, totalCount, writeFolded } from "../src/folded/stacks.ts";
import { FlameError } from "../src/errors.ts";
import { cleanSrcline, cutArguments } from "../src/collapse/perf_symbols.ts";
import { InlineResolver } from "../src/collapse/perf_inline.ts";
import { runFlame, withTempDir } from "./helpers.ts";

const MiB = 1 << 20;
/** An endless line's length: 64 MiB, sixteen times the line limit. */
const HUGE = 64 * MiB;
/** Seconds a linear read of HUGE characters may take on a loaded machine (quadratic: minutes). */
const SECONDS = 15;

/** A stream of `total` bytes of `byte` in 64 KiB chunks (one buffer, so no garbage), then `tail`. */
function endless(total: number, byte: number, tail = ""): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(byte);
  let sent = 0;
  let tailSent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent < total) {
        const n = Math.min(chunk.length, total - sent);
        controller.enqueue(n === chunk.length ? chunk : chunk.subarray(0, n));
        sent += n;
      } else if (!tailSent && tail !== "") {
        controller.enqueue(new TextEncoder().encode(tail));
        tailSent = true;
      } else {
        controller.close();
      }
    },
  });
}

/** Runs `fn`, asserting it took less than SECONDS and grew the heap by less than `maxMiB`. */
async function bounded<T>(what: string, maxMiB: number, fn: () => Promise<T> | T): Promise<T> {
  const heap = Deno.memoryUsage().heapUsed;
  const start = performance.now();
  const result = await fn();
  const seconds = (performance.now() - start) / 1000;
  const grown = (Deno.memoryUsage().heapUsed - heap) / MiB;
  assert.ok(seconds < SECONDS, `${what}: ${seconds.toFixed(1)} s`);
  assert.ok(grown < maxMiB, `${what}: the heap grew by ${grown.toFixed(0)} MiB`);
  return result;
}

// ---------------------------------------------------------------- endless lines

Deno.test("hostile: LineSplitter skips a 64 MiB line in linear time, holding none of it", async () => {
  const piece = "x".repeat(64 * 1024);
  const lines: [string, number][] = [];
  const splitter = new LineSplitter((line, n) => lines.push([line, n]));
  await bounded("split", 32, () => {
    splitter.push("first\n");
    for (let i = 0; i < HUGE / piece.length; i++) splitter.push(piece);
    splitter.push("\r\nlast");
    splitter.end();
  });
  assert.deepEqual(lines, [["first", 1], ["last", 3]]);
  assert.equal(splitter.skippedLines, 1);
  assert.equal(splitter.firstSkippedLine, 2);
  // A line of exactly the limit is kept, with or without its CR.
  for (const end of ["\n", "\r\n"]) {
    const kept: string[] = [];
    const s = new LineSplitter((line) => kept.push(line), 10);
    for (const c of "0123456789" + end + "0123456789a" + end) s.push(c);
    s.end();
    assert.deepEqual(kept, ["0123456789"], JSON.stringify(end));
    assert.equal(s.skippedLines, 1);
  }
});

/** Collapses a stream with `collapser`, within the time and memory bounds. */
function collapseBounded(name: string, readable: ReadableStream<Uint8Array>, collapser: Collapser) {
  return bounded(name, 48, () => collapseInput({ name, readable }, () => collapser));
}

Deno.test("hostile: an endless line: folded and DTrace input warn once, perf input is no perf", async () => {
  const folded = await collapseBounded(
    "folded",
    endless(HUGE, 0x61, "\nmain;a 3\n"),
    new FoldedCollapser(),
  );
  assert.deepEqual([...folded.stacks], [["main;a", 3]]);
  assert.deepEqual(folded.warnings, [
    `1 line longer than ${MAX_LINE_CHARS} characters skipped, the first at line 1`,
  ]);
  const dtrace = await collapseBounded("dtrace", endless(HUGE, 0x61), new DtraceCollapser());
  assert.equal(dtrace.stacks.size, 0);
  assert.deepEqual(dtrace.warnings, [
    `1 line longer than ${MAX_LINE_CHARS} characters skipped, the first at line 1`,
  ]);
  await assert.rejects(
    () => collapseBounded("perf", endless(HUGE, 0x61), new PerfCollapser()),
    (err: unknown) =>
      err instanceof InputFormatError && /does not look like 'perf script'/.test(err.message),
  );
});

Deno.test("hostile: folded reading skips a line longer than any string can be", async () => {
  // 600 MiB: past V8's longest string (2^29 - 24 characters), so a reader that joins the line
  // before looking at it fails, and one that joins chunk by chunk takes minutes.
  const lines: FoldedLine[] = [];
  const stats = await bounded(
    "readFolded",
    32,
    () =>
      readFolded(
        { name: "big", readable: endless(600 * MiB, 0x61, " 5\nmain;b 2\n") },
        (l) => lines.push(l),
      ),
  );
  assert.deepEqual(lines, [{ stack: "main;b", count: 2 }]);
  assert.equal(stats.lines, 2);
  assert.equal(stats.invalid, 1);
  assert.equal(stats.tooLong, 1);
  assert.equal(stats.firstInvalidLine, 1);
});

// ---------------------------------------------------------------- counts

/** Counts at the edges of what a number holds. */
const EXTREME = [
  1,
  2 ** 53 + 2,
  1e15,
  1e20,
  1e21,
  123456789e280,
  Number.MAX_VALUE,
  0.5,
  1e-7,
  1.5e-7,
  1e-300,
  5e-324,
];

Deno.test("hostile: counts are written as plain decimals that read back as written", () => {
  for (const n of EXTREME) {
    const s = formatCount(n);
    assert.match(s, /^\d+(?:\.\d*)?$/, `${n} → ${s}`);
    assert.equal(Number(s), n, `${n} → ${s}`);
  }
  assert.equal(formatCount(1e20), "100000000000000000000");
  assert.equal(formatCount(1e-7), "0.0000001");
  assert.equal(formatCount(0.1 + 0.2), "0.3"); // 15 significant digits, as Perl prints them
});

Deno.test("hostile: what flame writes, flame reads back with the same totals", async () => {
  const text = EXTREME.map((n, i) => `main;f${i} ${formatCount(n)}\n`).join("");
  const collapser = new FoldedCollapser();
  collapser.push(text);
  const first = collapser.finish();
  assert.deepEqual(first.warnings, []);
  let written = "";
  await writeFolded(first.stacks, { write: (t: string) => Promise.resolve(void (written += t)) });
  const again: FoldedLine[] = [];
  const stats = await readFolded(
    { name: "again", readable: ReadableStream.from([new TextEncoder().encode(written)]) },
    (l) => again.push(l),
  );
  assert.equal(stats.invalid, 0);
  assert.equal(again.length, EXTREME.length);
  assert.deepEqual(new Map(again.map((l) => [l.stack, l.count])), first.stacks);
  assert.equal(totalCount(first.stacks), EXTREME.reduce((a, b) => a + b, 0));
});

Deno.test("hostile: a count no number holds is an invalid line, and so is one that overflows the sum", async () => {
  const huge = "1" + "0".repeat(400);
  const max = formatCount(Number.MAX_VALUE);
  const text = `a;b 3\nbig ${huge}\nm1 ${max}\nm2 ${max}\nd;e ${huge} 2\n`;
  const c = new FoldedCollapser();
  c.push(text);
  const r = c.finish();
  assert.deepEqual([...r.stacks], [["a;b", 3], ["m1", Number.MAX_VALUE]]);
  assert.deepEqual(r.warnings, [
    "3 lines with a count too large for a number skipped, the first at line 2",
  ]);
  const lines: FoldedLine[] = [];
  const stats = await readFolded(
    { name: "t", readable: ReadableStream.from([new TextEncoder().encode(text)]) },
    (l) => lines.push(l),
  );
  assert.deepEqual(lines.map((l) => l.stack), ["a;b", "m1"]);
  assert.equal(stats.tooLarge, 3);
  assert.equal(stats.invalid, 3);
  // Sums shared by several inputs read into one sink stay finite too.
  const totals = new CountTotals();
  const seen: string[] = [];
  const dir = Deno.makeTempDirSync({ prefix: "flame-test-" });
  try {
    for (const name of ["x", "y"]) {
      Deno.writeTextFileSync(`${dir}/${name}`, `${name} ${max}\n`);
      const file = Deno.openSync(`${dir}/${name}`);
      const s = readFoldedSync(file, { add: (stack) => seen.push(stack) }, { name, totals });
      file.close();
      assert.equal(s.tooLarge, name === "x" ? 0 : 1);
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  assert.deepEqual(seen, ["x"]);
});

Deno.test("hostile: DTrace counts no number holds and perf periods past 64 bits are left out", () => {
  const huge = "9".repeat(400);
  const d = new DtraceCollapser();
  d.push(`\n  app\`main+0x1\n  ${huge}\n\n  app\`f+0x2\n  app\`main+0x1\n  4\n`);
  const dr = d.finish();
  assert.deepEqual([...dr.stacks], [["app`main;app`f", 4]]);
  assert.deepEqual(dr.warnings, ["1 stack with a count too large for a number left out"]);
  // Periods past 64 bits (no perf period is), a number or not: their sums could overflow.
  const big = "1" + "0".repeat(300);
  const text = `prog 1 1.0: ${huge} cpu-clock:\n\t1 f (/x)\n\n` +
    `prog 1 1.1: ${big} cpu-clock:\n\t1 f (/x)\n\n` +
    `prog 1 1.2: ${big} cpu-clock:\n\t1 f (/x)\n\n` +
    `prog 1 1.3: 18446744073709551615 cpu-clock:\n\t1 g (/x)\n\n`;
  for (const lineByLine of [false, true]) {
    const p = new PerfCollapser({ lineByLine });
    p.push(text);
    const pr = p.finish();
    assert.deepEqual([...pr.stacks], [["prog;g", 2 ** 64]]);
    assert.deepEqual(pr.warnings, [
      "3 samples with a period over 2^64 (no perf period is) left out",
    ]);
  }
});

// ---------------------------------------------------------------- binary input

Deno.test("hostile: binary heads are told from text, and named", () => {
  const bytes = (...b: number[]) => new Uint8Array(b);
  const ascii = (s: string) => new TextEncoder().encode(s);
  assert.match(
    describeBinary(ascii("PERFILE2\x68\0\0\0"), "x.data")!,
    /perf\.data recording.*flame report x\.data/,
  );
  assert.match(describeBinary(ascii("PERFILE2"), "<stdin>")!, /flame report FILE/);
  assert.match(describeBinary(bytes(0x1f, 0x8b, 8, 0), "a.gz")!, /gzip.*zcat a\.gz/);
  // The advice is a command to paste: a name a shell would split is quoted.
  assert.match(describeBinary(bytes(0x1f, 0x8b, 8, 0), "my run.gz")!, /zcat 'my run\.gz'$/);
  assert.match(describeBinary(bytes(0x28, 0xb5, 0x2f, 0xfd, 1), "a.zst")!, /zstd/);
  assert.match(describeBinary(bytes(0x7f, 0x45, 0x4c, 0x46, 2), "prog")!, /ELF/);
  assert.match(describeBinary(bytes(0xff, 0xfe, 0x61, 0), "u16")!, /UTF-16/);
  assert.match(describeBinary(ascii("main;a 1\n\0\0"), "n")!, /NUL bytes/);
  const noise = new Uint8Array(SNIFF_BYTES);
  let seed = 7;
  for (let i = 0; i < noise.length; i++) {
    noise[i] = 0x80 | ((seed = (seed * 48271) % 2147483647) & 0x7f);
  }
  assert.match(describeBinary(noise, "n")!, /mostly invalid UTF-8/);
  // Text: ASCII, UTF-8 (cut in the middle of a character at the end of the head), a BOM, Latin-1
  // here and there.
  assert.equal(describeBinary(ascii("\ufeffmain;\u00e9\u4e2d;\u{1f600} 1\n"), "t"), undefined);
  assert.equal(describeBinary(ascii("main;\u4e2d").subarray(0, 7), "t"), undefined);
  const latin1 = ascii(`main;caf\u00e9;${"x".repeat(40)} 1\n`).filter((b) => b !== 0xc3);
  assert.equal(describeBinary(latin1.map((b) => b === 0xa9 ? 0xe9 : b), "t", true), undefined);
});

Deno.test("hostile: collapse and folded reading refuse binary data at once, naming it", async () => {
  const perfData = new Uint8Array(1 << 20);
  perfData.set(new TextEncoder().encode("PERFILE2"));
  await assert.rejects(
    () =>
      collapseInput(
        { name: "perf.data", readable: ReadableStream.from([perfData]) },
        () => new PerfCollapser(),
      ),
    (err: unknown) =>
      err instanceof InputFormatError &&
      err.message ===
        "looks like a perf.data recording, not UTF-8 text: draw it with 'flame report perf.data'",
  );
  await assert.rejects(
    () => readFolded({ name: "zeros", readable: endless(HUGE, 0) }, () => {}),
    (err: unknown) =>
      err instanceof FlameError &&
      err.message === "zeros: looks like binary data (it has NUL bytes), not UTF-8 text",
  );
  // A short binary input is told at its end.
  await assert.rejects(
    () =>
      readFolded(
        { name: "tiny", readable: ReadableStream.from([new Uint8Array([0x1f, 0x8b, 0])]) },
        () => {},
      ),
    /tiny: looks like gzip data/,
  );
});

// ---------------------------------------------------------------- the commands

/** A file of `size` bytes of `byte` (no newline), written in 1 MiB pieces. */
function writeLine(path: string, size: number, byte: number, tail = ""): void {
  const file = Deno.openSync(path, { write: true, create: true, truncate: true });
  const piece = new Uint8Array(MiB).fill(byte);
  for (let n = 0; n < size; n += MiB) file.writeSync(piece.subarray(0, Math.min(MiB, size - n)));
  file.writeSync(new TextEncoder().encode(tail));
  file.close();
}

/** Runs flame and asserts it took less than SECONDS and printed no internal error. */
async function flame(args: string[], stdin?: string) {
  const start = performance.now();
  const r = await runFlame(args, stdin === undefined ? {} : { stdin });
  const seconds = (performance.now() - start) / 1000;
  assert.ok(seconds < SECONDS, `flame ${args.join(" ")}: ${seconds.toFixed(1)} s`);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.ts:\d+/);
  return r;
}

/** The stderr lines of a run. */
const lines = (stderr: string) => stderr.trimEnd().split("\n");

Deno.test("hostile: a 2 GB sparse file is refused at once by collapse and svg", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/sparse`;
    Deno.writeFileSync(path, new Uint8Array());
    Deno.truncateSync(path, 2 ** 31);
    for (
      const args of [["collapse", path], ["collapse", "perf", path], ["svg", path], [
        "diff",
        path,
        path,
      ]]
    ) {
      const r = await flame(args);
      assert.equal(r.code, 1, args.join(" "));
      assert.deepEqual(lines(r.stderr), [
        `flame: error: ${path}: looks like binary data (it has NUL bytes), not UTF-8 text`,
      ]);
    }
  });
});

Deno.test("hostile: a 64 MB line: collapse and svg stay linear and say so in one line", async () => {
  await withTempDir(async (dir) => {
    const only = `${dir}/only`;
    writeLine(only, HUGE, 0x61);
    const svg = await flame(["svg", only, "-o", `${dir}/o.svg`]);
    assert.equal(svg.code, 1);
    assert.equal(lines(svg.stderr).length, 1);
    assert.match(svg.stderr, /no stack counts found in .*only: 1 line is not a folded stack/);
    const folded = `${dir}/folded`;
    writeLine(folded, HUGE, 0x61, " 3\nmain;a 2\n");
    Deno.writeTextFileSync(`${dir}/head`, "main;b 1\n".repeat(50));
    const withHead = `${dir}/with-head`;
    Deno.writeFileSync(withHead, Deno.readFileSync(`${dir}/head`));
    Deno.writeFileSync(withHead, Deno.readFileSync(folded), { append: true });
    const s = await flame(["svg", withHead, "-o", `${dir}/o.svg`]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /ignored 1 line that is not folded stacks \(first at .*:51\)/);
    const c = await flame(["collapse", withHead]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "main;a 2\nmain;b 50\n");
    assert.deepEqual(lines(c.stderr), [
      `flame: warning: ${withHead}: 1 line longer than ${MAX_LINE_CHARS} characters skipped, the first at line 51`,
    ]);
    const d = await flame(["collapse", "dtrace", only]);
    assert.equal(d.code, 0, d.stderr);
    assert.equal(lines(d.stderr).length, 1);
  });
});

Deno.test("hostile: counts survive collapse and svg: plain decimals in, plain decimals out", async () => {
  const text = "a 100000000000000000000\nb 0.0000001\na 100000000000000000000\n";
  const c = await flame(["collapse"], text);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(c.stdout, "a 200000000000000000000\nb 0.0000001\n");
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/f`, c.stdout + `c ${"1".repeat(400)}\n`);
    const s = await flame(["svg", `${dir}/f`, "-o", `${dir}/o.svg`]);
    assert.equal(s.code, 0, s.stderr);
    assert.deepEqual(lines(s.stderr), [
      `flame: warning: ignored 1 line that is not folded stacks (first at ${dir}/f:3)`,
    ]);
    // Not a number in the drawing's data or geometry (the embedded script may say -Infinity).
    const svg = Deno.readTextFileSync(`${dir}/o.svg`);
    assert.doesNotMatch(svg, /\bNaN\b|="[^"]*Infinity|&quot;Infinity/);
    assert.match(svg, /200000000000000000000/);
  });
});

Deno.test("hostile: empty and whitespace-only input behave alike in every reader", async () => {
  for (const args of [["collapse"], ["collapse", "perf"], ["collapse", "dtrace"], ["svg"]]) {
    const empty = await flame(args, "");
    const blank = await flame(args, "  \n\t\n\n");
    assert.equal(blank.code, empty.code, args.join(" "));
    assert.equal(blank.stdout, empty.stdout, args.join(" "));
    assert.equal(blank.stderr, empty.stderr, args.join(" "));
    assert.equal(lines(empty.stderr).length, 1, args.join(" "));
  }
});

const perfMissing = new Deno.Command("sh", { args: ["-c", "command -v perf"] }).outputSync().success
  ? undefined
  : "perf is not installed";

Deno.test({
  name: `hostile: a real perf.data given to collapse and svg: one line, 'flame report'${
    perfMissing ? ` (ignored: ${perfMissing})` : ""
  }`,
  ignore: perfMissing !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const data = `${dir}/perf.data`;
      const rec = new Deno.Command("perf", {
        args: ["record", "-N", "-q", "-e", "cpu-clock", "-o", data, "--", "true"],
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      assert.ok(rec.success, new TextDecoder().decode(rec.stderr));
      for (const args of [["collapse", data], ["collapse", "perf", data], ["svg", data]]) {
        const r = await flame(args);
        assert.equal(r.code, 1);
        assert.deepEqual(lines(r.stderr), [
          `flame: error: ${data}: looks like a perf.data recording, not UTF-8 text: draw it with 'flame report ${data}'`,
        ]);
      }
    });
  },
});

// ---------------------------------------------------------------- long names

Deno.test("hostile: long lines of brackets, colons and parentheses take linear time", () => {
  const n = 1 << 20;
  const seconds = (f: () => unknown) => {
    const start = performance.now();
    f();
    return (performance.now() - start) / 1000;
  };
  // Each of these made a regular expression rescan the rest of the line from every position.
  const cases: [string, () => unknown][] = [
    ["srcline of [", () => cleanSrcline("  " + "[".repeat(n))],
    ["name of .(", () => cutArguments(".(".repeat(n / 2))],
    ["module of [", () => new InlineResolver(false, { exists: () => true }).applies("[".repeat(n))],
    ["DTrace line of ;", () => {
      const d = new DtraceCollapser();
      d.push(`\n  ${";".repeat(n)}\n  3\n`);
      return d.finish();
    }],
    ["perf frame of :", () => {
      const p = new PerfCollapser();
      p.push(`prog 1 1.0: 1 cycles:\n\t1 ${": 1 x:".repeat(n / 6)} (/x)\n\n`);
      return p.finish();
    }],
  ];
  for (const [what, f] of cases) {
    const s = seconds(f);
    assert.ok(s < SECONDS, `${what}: ${s.toFixed(1)} s`);
  }
  // The linear versions mean what the expressions meant.
  assert.equal(cleanSrcline("  a[x]b[y]c[z"), "abc[z");
  assert.equal(cutArguments("net/http.(*Client).Do(x)"), "net/http.(*Client).Do(x)");
  assert.equal(cutArguments("f.(x)(y)"), "f.(x)");
  const resolver = new InlineResolver(false, { exists: () => true });
  for (
    const [module, file] of [["[vdso]", false], ["/x/[]", true], ["/x/[]]", true], [
      "/a[b]",
      false,
    ]] as const
  ) {
    assert.equal(resolver.applies(module), file, module);
  }
});
