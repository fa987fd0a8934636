import assert from "node:assert/strict";
import {
  parseBareFrameLine,
  parseEventHead,
  parseEventTail,
  parseFrameLine,
  parseOneLineSample,
  periodValue,
} from "../src/collapse/perf_lines.ts";
import {
  cleanSrcline,
  cutArguments,
  splitInlineChain,
  stripOffset,
} from "../src/collapse/perf_symbols.ts";
import { repairRustSymbol } from "../src/collapse/rust.ts";
import { parseAddr2line } from "../src/collapse/perf_inline.ts";

// stackcollapse-perf.pl's regular expressions, with Perl's byte `\s` spelled out. The parsers
// scan by hand (no backtracking blow-up on long lines); they must agree with these everywhere.
const S = "[ \\t\\n\\v\\f\\r]";
const N = "[^ \\t\\n\\v\\f\\r]";
const PERL_EVENT = new RegExp(`^(${N}[^]+?)${S}+(\\d+)\\/*(\\d+)*${S}+`);
const PERL_TAIL = new RegExp(`:${S}*(\\d+)*${S}+(${N}+):${S}*$`);
const PERL_FRAME = new RegExp(`^${S}*(\\w+)${S}*([^]+) \\(([^]*)\\)`);

/** Random short lines over the characters that matter to the expressions. */
function* randomLines(count: number): Generator<string> {
  const alphabet = ["a", "b", "x", "1", "2", "0", " ", " ", "\t", "/", ":", ":", "(", ")", "+"];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < count; i++) {
    const length = next() % 24;
    let line = "";
    for (let j = 0; j < length; j++) line += alphabet[next() % alphabet.length];
    yield line;
  }
}

Deno.test("perf lines: the header parser agrees with Perl's expression", () => {
  for (const line of randomLines(200_000)) {
    const m = PERL_EVENT.exec(line);
    const got = parseEventHead(line);
    if (m === null) {
      assert.equal(got, undefined, JSON.stringify(line));
      continue;
    }
    const single = m[3] === undefined || m[3] === "0";
    assert.deepEqual(got, {
      comm: m[1],
      pid: single ? "?" : m[2],
      tid: single ? m[2] : m[3],
      end: m[0].length,
    }, JSON.stringify(line));
  }
});

Deno.test("perf lines: the event parser agrees with Perl's expression", () => {
  for (const line of randomLines(200_000)) {
    const m = PERL_TAIL.exec(line);
    const got = parseEventTail(line);
    if (m === null) assert.equal(got, undefined, JSON.stringify(line));
    else assert.deepEqual(got, { event: m[2], period: m[1], start: m.index }, JSON.stringify(line));
  }
});

Deno.test("perf lines: a header's head depends on its text alone, its tail too", () => {
  // The collapser reuses the parse of a recent header that starts (ends) with the same text.
  const lines = [...randomLines(50_000)];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const other = lines[(i * 7919) % lines.length];
    const head = parseEventHead(line);
    if (head !== undefined) {
      const again = parseEventHead(line.slice(0, head.end) + other);
      const [a, b] = [again, head].map((h) => [h?.comm, h?.pid, h?.tid]);
      assert.deepEqual(a, b, JSON.stringify([line, other]));
    }
    const tail = parseEventTail(line);
    if (tail !== undefined) {
      const again = parseEventTail(other + line.slice(tail.start));
      const [a, b] = [again, tail].map((t) => [t?.event, t?.period]);
      assert.deepEqual(a, b, JSON.stringify([other, line]));
    }
  }
});

Deno.test("perf lines: the frame parser agrees with Perl's expression", () => {
  for (const line of randomLines(200_000)) {
    const m = PERL_FRAME.exec(line);
    const got = parseFrameLine(line);
    if (m === null) assert.equal(got, undefined, JSON.stringify(line));
    else assert.deepEqual(got, { pc: m[1], sym: m[2], module: m[3] }, JSON.stringify(line));
  }
});

Deno.test("perf lines: headers of every shape perf prints", () => {
  const cases: [string, string, string, string, string | undefined, string][] = [
    ["java 25607 4794564.109216: 1 cycles:", "java", "?", "25607", "1", "cycles"],
    ["java 12688 [002] 6544038.708352: 235 cpu-clock:", "java", "?", "12688", "235", "cpu-clock"],
    [
      "V8 WorkerThread 24636/25607 [000] 94564.1: 100 cycles:",
      "V8 WorkerThread",
      "24636",
      "25607",
      "100",
      "cycles",
    ],
    [
      "emulator  4152 75695.008865:          1 cycles:u: ",
      "emulator",
      "?",
      "4152",
      "1",
      "cycles:u",
    ],
    ["func_ab 15294 cpu-clock: ", "func_ab", "?", "15294", undefined, ""],
    ["swapper     0/0 [000] 1.0: cpu-clock:", "swapper", "?", "0", undefined, "cpu-clock"],
  ];
  for (const [line, comm, pid, tid, period, event] of cases) {
    const head = parseEventHead(line);
    assert.ok(head, line);
    assert.deepEqual([head.comm, head.pid, head.tid], [comm, pid, tid], line);
    const tail = parseEventTail(line);
    if (event === "") assert.equal(tail, undefined, line);
    else assert.deepEqual({ event: tail?.event, period: tail?.period }, { event, period }, line);
  }
  assert.equal(
    parseEventHead("\tffffffff8103ce3b native_safe_halt ([kernel.kallsyms])"),
    undefined,
  );
});

Deno.test("perf lines: periods count 1 when missing or zero, as in Perl", () => {
  assert.equal(periodValue(undefined), 1);
  assert.equal(periodValue("0"), 1);
  assert.equal(periodValue("2004008"), 2004008);
});

Deno.test("perf lines: frames, including odd ones", () => {
  assert.deepEqual(parseFrameLine("\t7f53389994d0 [unknown] ([unknown])"), {
    pc: "7f53389994d0",
    sym: "[unknown]",
    module: "[unknown]",
  });
  assert.deepEqual(parseFrameLine("  11cb std::function<long (long)>::operator()+0x33 (inlined)"), {
    pc: "11cb",
    sym: "std::function<long (long)>::operator()+0x33",
    module: "inlined",
  });
  // A deleted binary: the module is the last parenthesised text, as in Perl.
  assert.deepEqual(parseFrameLine("\t1377 [unknown] (/tmp/prog (deleted))"), {
    pc: "1377",
    sym: "[unknown] (/tmp/prog",
    module: "deleted)",
  });
  assert.equal(parseFrameLine("\tTHIS_IS_A_WEIRD_LINE"), undefined);
  const long = `\t1 ${"z".repeat(200_000)} (/x)`;
  assert.equal(parseFrameLine(long)?.sym.length, 200_000);
  assert.equal(parseFrameLine("a".repeat(100_000)), undefined); // linear, not quadratic
});

Deno.test("perf lines: one-line samples and module-less frames", () => {
  const one = parseOneLineSample(
    "              sh  7229   344.054927:    1001001 cpu-clock:  ffffffff81706ea9 fdget_pos+0x29 ([kernel.kallsyms])",
  );
  assert.deepEqual(one, {
    comm: "sh",
    pid: "?",
    tid: "7229",
    event: "cpu-clock",
    period: "1001001",
    frame: { pc: "ffffffff81706ea9", sym: "fdget_pos+0x29", module: "[kernel.kallsyms]" },
  });
  assert.equal(parseOneLineSample("prog 1234 100.0: 1000 cpu-clock: "), undefined);
  assert.deepEqual(parseBareFrameLine("\t            11cb inner+0x3b"), {
    pc: "11cb",
    sym: "inner+0x3b",
  });
  assert.equal(parseBareFrameLine("  p.c:3 (inlined)"), undefined);
});

Deno.test("perf symbols: offsets, chains, argument lists", () => {
  assert.equal(stripOffset("main+0x1f"), "main");
  assert.equal(stripOffset("main+0x1F"), "main+0x1F"); // Perl strips lowercase hex only
  assert.equal(stripOffset("a+0x1+0x2"), "a+0x1");
  assert.equal(stripOffset("a+0x"), "a+0x");
  assert.deepEqual(splitInlineChain("a->b->c"), ["a", "b", "c"]);
  assert.deepEqual(splitInlineChain("a->"), ["a"]);
  assert.deepEqual(splitInlineChain("->"), []);
  assert.deepEqual(splitInlineChain(""), []);
  assert.equal(cutArguments("foo(int)"), "foo");
  assert.equal(
    cutArguments("std::map<int, std::pair<a (b)>>::find(int)"),
    "std::map<int, std::pair<a (b)>>::find",
  );
  assert.equal(cutArguments("(anonymous namespace)::f(int)"), "(anonymous namespace)::f");
  assert.equal(cutArguments("main.(*T).m"), "main.(*T).m");
  assert.equal(cutArguments("{lambda(int)#1}::operator()"), "{lambda(int)#1}::operator");
});

Deno.test("perf symbols: Rust repair", () => {
  assert.equal(
    repairRustSymbol(
      "_$LT$F$u20$as$u20$alloc..boxed..FnBox$LT$A$GT$$GT$::call_box::h8612a2a83552fc2d",
    ),
    "<F as alloc::boxed::FnBox<A>>::call_box",
  );
  assert.equal(
    repairRustSymbol(
      "_$LT$$RF$std..fs..File$u20$as$u20$std..io..Read$GT$::read::h5d84059cf335c8e6",
    ),
    "<&std::fs::File as std::io::Read>::read",
  );
  assert.equal(repairRustSymbol("std::sys::fs::File::open"), "std::sys::fs::File::open");
  assert.equal(
    repairRustSymbol("_ZN3std2rt19lang_start17h540c897fe52ba9c5E"),
    "_ZN3std2rt19lang_start17h540c897fe52ba9c5E",
  );
  assert.equal(repairRustSymbol("a::$XX$b::h0123456789abcdef"), "a::$XX$b");
});

Deno.test("perf symbols: source lines and addr2line output", () => {
  assert.equal(cleanSrcline("  [kernel.kallsyms][ffffffff814f9302]"), "");
  assert.equal(cleanSrcline("  libc-2.33.so[27b25]"), "libc-2.33.so");
  assert.equal(cleanSrcline("  p.c:3 (inlined)"), "p.c:3");
  assert.equal(parseAddr2line("inner\ninl.h:3\nouter\nmain.c:9\n", false), "outer;inner");
  assert.equal(parseAddr2line("f\nf.c:1 (discriminator 4)\n", true), "f:f.c:1");
});
