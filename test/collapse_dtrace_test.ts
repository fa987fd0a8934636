import assert from "node:assert/strict";
import {
  DtraceCollapser,
  fixRustSymbol,
  foldFrame,
  isCountLine,
  removeOffset,
  stripCppArgs,
} from "../src/collapse/dtrace.ts";
import { InputFormatError } from "../src/collapse/types.ts";
import { formatCount, sortedStacks } from "../src/folded/stacks.ts";
import { collapseInput } from "../src/collapse/stream.ts";
import { repoPath } from "./helpers.ts";

const FIXTURES = ["c-workload", "kernel-ustack", "cpp", "rust", "java", "truncated", "no-header"];

function fixture(name: string): string {
  return Deno.readTextFileSync(repoPath(`fixtures/dtrace/${name}`));
}

/** Collapses `text` fed in `chunk`-sized pieces; returns folded text and the warnings. */
function collapse(text: string, includeOffset = false, chunk = 7) {
  const c = new DtraceCollapser({ includeOffset });
  for (let i = 0; i < text.length; i += chunk) c.push(text.slice(i, i + chunk));
  const result = c.finish();
  const folded = sortedStacks(result.stacks).map(([s, n]) => `${s} ${formatCount(n)}\n`).join("");
  return { folded, warnings: result.warnings, samples: result.samples };
}

const H =
  "CPU     ID                    FUNCTION:NAME\n  0  64091                        :tick-60s \n\n";
const F = (s: string) => `              ${s}\n`;
const N = (n: number) => `${String(n).padStart(17)}\n`;

for (const name of FIXTURES) {
  Deno.test(`dtrace: ${name}.txt folds to ${name}.folded`, () => {
    const text = fixture(`${name}.txt`);
    assert.equal(collapse(text).folded, fixture(`${name}.folded`));
  });
  Deno.test(`dtrace: ${name}.txt with includeOffset folds to ${name}.offsets.folded`, () => {
    const text = fixture(`${name}.txt`);
    assert.equal(collapse(text, true).folded, fixture(`${name}.offsets.folded`));
  });
}

Deno.test("dtrace: chunk boundaries do not matter", () => {
  const text = fixture("c-workload.txt");
  const expected = fixture("c-workload.folded");
  for (const chunk of [1, 13, 4096, text.length]) {
    assert.equal(collapse(text, false, chunk).folded, expected, `chunk ${chunk}`);
  }
});

Deno.test("dtrace: a count line ends a stack; samples are the stacks read", () => {
  const text = fixture("c-workload.txt");
  const records = text.split("\n").filter(isCountLine).length;
  const { samples, warnings, folded } = collapse(text);
  assert.equal(samples, records);
  assert.deepEqual(warnings, []);
  // The counts survive: the folded total equals the sum of the count lines.
  const sum = (lines: string[]) => lines.reduce((t, l) => t + Number(l.trim().split(" ").pop()), 0);
  assert.equal(
    sum(folded.trimEnd().split("\n")),
    sum(text.split("\n").filter(isCountLine)),
  );
});

Deno.test("dtrace: CRLF input folds like LF input", () => {
  const text = fixture("kernel-ustack.txt");
  assert.equal(collapse(text.replaceAll("\n", "\r\n")).folded, fixture("kernel-ustack.folded"));
});

Deno.test("dtrace: invalid UTF-8 is replaced, not fatal", async () => {
  const enc = new TextEncoder();
  const head = enc.encode(H + F("app`fo").trimEnd());
  const bytes = new Uint8Array([
    ...head,
    0xff,
    0xfe,
    ...enc.encode("o+0x1\n" + F("app`main+0x2") + N(3)),
  ]);
  const c = new DtraceCollapser();
  const readable = new ReadableStream<Uint8Array>({
    start(ctl) {
      // Split between the two bad bytes: each is replaced on its own.
      ctl.enqueue(bytes.slice(0, head.length + 1));
      ctl.enqueue(bytes.slice(head.length + 1));
      ctl.close();
    },
  });
  const r = await collapseInput({ name: "split.txt", readable }, () => c);
  assert.deepEqual([...r.stacks], [["app`main;app`fo\uFFFD\uFFFDo", 3]]);
});

Deno.test("dtrace: truncated input keeps complete stacks and warns with the line", () => {
  const { folded, warnings } = collapse(fixture("truncated.txt"));
  assert.equal(folded, "cat`_start;cat`main;libc.so.1`__read 6\n");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /ends in the middle of a stack \(from line 10\)/);
});

Deno.test("dtrace: the header runs to the first blank line, and may be absent", () => {
  // Any header text (here not DTrace's) ends at the first blank line.
  const custom = "header\nheader2\n\n" + F("a`leaf") + F("a`root") + N(2);
  assert.equal(collapse(custom).folded, "a`root;a`leaf 2\n");
  // dtrace -q: output starts with blank lines.
  const quiet = "\n\n" + F("a`leaf+0x1") + F("a`root+0x2") + N(1);
  assert.equal(collapse(quiet).folded, "a`root;a`leaf 1\n");
  // The first line is already a frame: nothing is skipped (stackcollapse.pl loses 3 lines).
  assert.equal(collapse(fixture("no-header.txt")).warnings.length, 0);
  assert.equal(
    collapse(F("0x1234") + F("a`root") + N(5)).folded,
    "a`root;0x1234 5\n",
  );
});

Deno.test("dtrace: only the header gives no stacks and a warning", () => {
  const r = collapse("CPU     ID                    FUNCTION:NAME\n  8  35077   :tick-60s\n");
  assert.equal(r.folded, "");
  assert.match(r.warnings.join("\n"), /only DTrace's header/);
});

Deno.test("dtrace: empty and whitespace-only input: no stacks, the same one warning", () => {
  for (const text of ["", "\n", "  \n\t\n", " "]) {
    const r = collapse(text);
    assert.equal(r.folded, "", JSON.stringify(text));
    assert.deepEqual(
      r.warnings,
      ["no stacks in the input: the output is empty"],
      JSON.stringify(text),
    );
  }
});

Deno.test("dtrace: kernel stack() and ustack() keys fold into one stack", () => {
  const text = H + "\n" + F("genunix`read+0x10") + F("unix`sys_syscall+0x17d") + "\n" +
    F("libc.so.1`__read+0xa") + F("cat`main+0x1f6") + N(4);
  assert.equal(
    collapse(text).folded,
    "cat`main;libc.so.1`__read;unix`sys_syscall;genunix`read 4\n",
  );
});

Deno.test("dtrace: the same stack twice is summed", () => {
  const text = H + "\n" + F("a`f+0x1") + F("a`main+0x2") + N(2) + "\n" + F("a`f+0x9") +
    F("a`main+0x2") + N(3);
  assert.equal(collapse(text).folded, "a`main;a`f 5\n");
  assert.equal(collapse(text, true).folded, "a`main+0x2;a`f 5\n");
});

Deno.test("dtrace: a count with no frames is left out with a warning", () => {
  const text = H + "\n" + N(9) + "\n" + F("a`f+0x1") + N(1);
  const r = collapse(text);
  assert.equal(r.folded, "a`f 1\n");
  assert.match(r.warnings.join("\n"), /1 stack with no frames/);
});

Deno.test("dtrace: includeOffset keeps the stack when the leaf has no offset", () => {
  const text = H + "\n" + F("genunix`segvn_fault") + F("unix`pagefault+0x96") +
    F("unix`trap+0x2c7") + F("unix`0xfffffffffb8001d6") + N(1);
  assert.equal(
    collapse(text, true).folded,
    "unix`0xfffffffffb8001d6;unix`trap+0x2c7;unix`pagefault+0x96;genunix`segvn_fault 1\n",
  );
  assert.equal(
    collapse(text).folded,
    "unix`0xfffffffffb8001d6;unix`trap;unix`pagefault;genunix`segvn_fault 1\n",
  );
});

Deno.test("dtrace: input that is not DTrace output is an InputFormatError", () => {
  const perf = "prog 1234 100.000: 1 cpu-clock:\n\tffff1 main+0x1 (/bin/prog)\n\n".repeat(20);
  assert.throws(() => collapse(perf), InputFormatError);
  assert.throws(
    () => collapse("main;parse;lex 4\nmain;gc 2\n"),
    (err: Error) => err instanceof InputFormatError && /line 1 is a folded stack/.test(err.message),
  );
  // Folded DTrace stacks: their frames look like DTrace's, but they are folded already.
  assert.throws(
    () => collapse("unix`a;unix`b 4\n\nunix`a;unix`c 2\n"),
    (err: Error) => err instanceof InputFormatError && /folded stack already/.test(err.message),
  );
  assert.throws(() => collapse("just some words\n".repeat(50)), InputFormatError);
  // Text after a header, never ended by a count, with nothing that looks like a frame.
  assert.throws(() => collapse(H + "hello\nworld\n"), InputFormatError);
  // The message is one line.
  try {
    collapse("main;gc 2\n");
  } catch (err) {
    assert.ok(err instanceof InputFormatError);
    assert.doesNotMatch(err.message, /\n/);
  }
});

Deno.test("dtrace: isCountLine", () => {
  assert.ok(isCountLine("                1"));
  assert.ok(isCountLine("42  "));
  assert.ok(!isCountLine("  0x42"));
  assert.ok(!isCountLine("  4 2"));
  assert.ok(!isCountLine(""));
});

Deno.test("dtrace: removeOffset cuts at the last +", () => {
  assert.equal(removeOffset("unix`trap+0x2c7"), "unix`trap");
  assert.equal(removeOffset("unix`idle"), "unix`idle");
  assert.equal(removeOffset("a`operator+(int)+0x8"), "a`operator+(int)");
});

Deno.test("dtrace: stripCppArgs cuts after the first :: at the last ( or <", () => {
  assert.equal(stripCppArgs("a`ns::f(int, char)"), "a`ns::f");
  assert.equal(stripCppArgs("a`ns::V<int>::push(int const&)"), "a`ns::V<int>::push");
  assert.equal(stripCppArgs("a`java_start(Thread*)"), "a`java_start(Thread*)");
  assert.equal(stripCppArgs("a`(anonymous namespace)::g(int)"), "a`(anonymous namespace)::g");
  assert.equal(stripCppArgs("a`<T as ns::Tr>::f"), "a`<T as ns::Tr>::f");
  assert.equal(stripCppArgs("a`ns::F<T,U> as x::Y"), "a`ns::F");
});

Deno.test("dtrace: fixRustSymbol repairs half-demangled names only", () => {
  assert.equal(
    fixRustSymbol(
      "_$LT$std..fs..ReadDir$u20$as$u20$core..iter..Iterator$GT$::next::h0123456789abcdef",
    ),
    "<std::fs::ReadDir as core::iter::Iterator>::next",
  );
  assert.equal(
    fixRustSymbol("rg::run::_$u7b$$u7b$closure$u7d$$u7d$::hfedcba9876543210 "),
    "rg::run::_{{closure}}",
  );
  assert.equal(
    fixRustSymbol("_$LT$$RF$T$u20$as$u20$x..Y$LT$$u27$a$C$$u20$B$GT$$GT$::f::h0000000000000000"),
    "<&T as x::Y<'a, B>>::f",
  );
  assert.equal(fixRustSymbol("std::fs::File::open::hb90e1c1c787080f0"), "std::fs::File::open");
  // No hash: not a legacy Rust symbol, left exactly as it is.
  assert.equal(
    fixRustSymbol("_platform_memset$VARIANT$Haswell"),
    "_platform_memset$VARIANT$Haswell",
  );
  assert.equal(fixRustSymbol("std::fs::File::open"), "std::fs::File::open");
  assert.equal(
    fixRustSymbol("_ZN3std2rt10lang_start17h0123456789abcdefE"),
    "_ZN3std2rt10lang_start17h0123456789abcdefE",
  );
  // An escape it does not know is kept with the rest of the name.
  assert.equal(fixRustSymbol("a..b$XY$c..d::h0123456789abcdef"), "a::b$XY$c..d");
});

Deno.test("dtrace: foldFrame: Java inlining, ; and one leading L", () => {
  assert.deepEqual(foldFrame("Lcom/x/A;.f->Lcom/x/B;.g->h"), [
    "com/x/A:.f",
    "com/x/B:.g_[i]",
    "h_[i]",
  ]);
  // stackcollapse.pl drops one leading L, whatever follows it.
  assert.deepEqual(foldFrame("LLVMfoo`bar+0x1"), ["LVMfoo`bar"]);
  assert.deepEqual(foldFrame("+0x10"), ["-"]);
  assert.deepEqual(foldFrame("a`f+0x10", true), ["a`f+0x10"]);
  assert.deepEqual(
    foldFrame("p`x::main::h0123456789abcdef+0x5", true),
    ["p`x::main+0x5"],
  );
});

Deno.test("dtrace: includeOffset trims the leaf offset but keeps its _[i] mark", () => {
  const text = H + "\n" + F("a`f+0x1->a`g+0x2") + F("a`main+0x3") + N(1);
  assert.equal(collapse(text, true).folded, "a`main+0x3;a`f+0x1;a`g_[i] 1\n");
  // Without includeOffset only the frame's last +offset goes (stackcollapse.pl's rule).
  assert.equal(collapse(text).folded, "a`main;a`f+0x1;a`g_[i] 1\n");
});
