import assert from "node:assert/strict";
import { PerfCollapser, type PerfOptions, type RawFrame } from "../src/collapse/perf.ts";
import { InputFormatError, profileOf } from "../src/collapse/types.ts";
import { eventMatches } from "../src/collapse/perf_events.ts";
import { mergeClocks } from "../src/collapse/perf_state.ts";
import { readableFrameOptions, readableFrames } from "../src/collapse/readable.ts";

import { frameInfo } from "../src/profile/profile.ts";
import { formatCount, sortedStacks, totalCount } from "../src/folded/stacks.ts";
import { repoPath } from "./helpers.ts";

/** Collapses `text` pushed in `chunk`-sized pieces. */
function collapse(text: string, options: Partial<PerfOptions> = {}, chunk = 0) {
  const c = new PerfCollapser(options);
  const size = chunk > 0 ? chunk : Math.max(1, text.length);
  for (let i = 0; i < text.length; i += size) c.push(text.slice(i, i + size));
  const result = c.finish();
  const folded = sortedStacks(result.stacks).map(([s, n]) => `${s} ${formatCount(n)}\n`).join("");
  return { folded, warnings: result.warnings, samples: result.samples, stacks: result.stacks };
}

/** One sample in perf script's default layout: header, tab-indented frames, blank line. */
function sample(header: string, ...frames: string[]): string {
  return `${header}\n${frames.map((f) => `\t${f}\n`).join("")}\n`;
}

const H = "prog 1234 100.000001:    1000 cpu-clock: ";
const MAIN = "401000 main+0x10 (/usr/bin/prog)";
const START = "401100 _start+0x20 (/usr/bin/prog)";

/** What the weights of `text` are, as the collapser that read it says. */
function clockOf(text: string, options: Partial<PerfOptions> = {}) {
  const c = new PerfCollapser(options);
  c.push(text);
  c.finish();
  return c.clock;
}

Deno.test("perf collapser: the samples kept decide the unit, not every event in the input", () => {
  const faults = "prog 1234 100.000002:    7 page-faults: ";
  const mixed = sample(H, MAIN, START) + sample(faults, MAIN) + sample(H, START);
  // The first event seen is kept: cpu-clock's periods are nanoseconds, whatever else is there.
  assert.deepEqual(clockOf(mixed), { nanoseconds: true, periodNs: 1000 });
  assert.deepEqual(clockOf(mixed, { eventFilter: "page-faults" }), { nanoseconds: false });
  assert.deepEqual(clockOf(sample(faults, MAIN) + sample(H, MAIN)), { nanoseconds: false });
  // Periods that change (perf -F adjusts them) leave no sampling rate.
  const other = "prog 1234 100.000003:    1500 cpu-clock: ";
  assert.deepEqual(clockOf(sample(H, MAIN) + sample(other, MAIN)), { nanoseconds: true });
  // No period printed: each sample counts one.
  assert.deepEqual(clockOf(sample("prog 1234 100.000001: cpu-clock: ", MAIN)), {
    nanoseconds: false,
  });
  // Read line by line (source lines asked for) and one-line samples alike.
  assert.deepEqual(clockOf(mixed, { srcline: true }), { nanoseconds: true, periodNs: 1000 });
  const oneLine = `prog 1234 100.000001:    1000 cpu-clock:  ${MAIN}\n`;
  assert.deepEqual(clockOf(oneLine + oneLine), { nanoseconds: true, periodNs: 1000 });
  assert.deepEqual(clockOf(""), { nanoseconds: false });
});

Deno.test("perf collapser: the clocks of a recording's slices merge", () => {
  const ns = { nanoseconds: true, periodNs: 1000 };
  assert.deepEqual(mergeClocks([ns, ns]), ns);
  assert.deepEqual(mergeClocks([ns, { nanoseconds: true, periodNs: 999 }]), { nanoseconds: true });
  assert.deepEqual(mergeClocks([ns, { nanoseconds: true }]), { nanoseconds: true });
  assert.deepEqual(mergeClocks([ns, { nanoseconds: false }]), { nanoseconds: false });
  assert.deepEqual(mergeClocks([]), { nanoseconds: false });
});

function fixture(name: string): string {
  return Deno.readTextFileSync(repoPath(`fixtures/perf/${name}`));
}

const FIXTURES = [
  "c-dwarf.perf.txt",
  "c-dwarf.fields.perf.txt",
  "c-fp.perf.txt",
  "cpp-templates.perf.txt",
  "python313-perfjit.perf.txt",
  "node-basic-prof.perf.txt",
  "shell-pipeline.perf.txt",
];

// ---------------------------------------------------------------- the basic shape

Deno.test("perf: frames are root first after the process name, offsets stripped", () => {
  const r = collapse(sample(H, "401200 leaf+0x5 (/usr/bin/prog)", MAIN, START));
  assert.equal(r.folded, "prog;_start;main;leaf 1000\n");
  assert.equal(r.samples, 1);
  assert.deepEqual(r.warnings, []);
});

Deno.test("perf: counts are summed periods; a header without a period counts 1", () => {
  const text = sample(H, MAIN) + sample("prog 1234 100.2: 250 cpu-clock:", MAIN) +
    sample("prog 1234 100.3: cpu-clock:", MAIN);
  assert.equal(collapse(text).folded, "prog;main 1251\n");
});

Deno.test("perf: output is sorted in byte order", () => {
  const text = sample(H, "1 b (/x)") + sample(H, "1 B (/x)") + sample(H, "1 a (/x)") +
    sample(H, "1 \u00e9 (/x)");
  assert.equal(
    collapse(text).folded,
    "prog;B 1000\nprog;a 1000\nprog;b 1000\nprog;\u00e9 1000\n",
  );
});

Deno.test("perf: a header with no frames counts as the process name alone", () => {
  assert.equal(collapse(`${H}\n\n`).folded, "prog 1000\n");
});

Deno.test("perf: process names with spaces and numbers", () => {
  const text = sample("V8 WorkerThread 24636/25607 [000] 94564.109216: 100 cycles:", MAIN);
  assert.equal(collapse(text).folded, "V8_WorkerThread;main 100\n");
  assert.equal(collapse(text, { pid: true }).folded, "V8_WorkerThread-24636;main 100\n");
  assert.equal(collapse(text, { tid: true }).folded, "V8_WorkerThread-24636/25607;main 100\n");
});

Deno.test("perf: --pid and --tid without a printed pid use '?'", () => {
  const text = sample("java 25607 4794564.109216: 7 cycles:", MAIN);
  assert.equal(collapse(text, { pid: true }).folded, "java-?;main 7\n");
  assert.equal(collapse(text, { tid: true }).folded, "java-?/25607;main 7\n");
});

// ---------------------------------------------------------------- symbol tidying

Deno.test("perf: unknown symbols take the module's name, --addrs adds the address", () => {
  const text = sample(H, "7f0001 [unknown] (/usr/lib/libc.so.6)", "ffff1 [unknown] ([unknown])");
  assert.equal(collapse(text).folded, "prog;[unknown];[libc.so.6] 1000\n");
  assert.equal(
    collapse(text, { addrs: true }).folded,
    "prog;[unknown <ffff1>];[libc.so.6 <7f0001>] 1000\n",
  );
});

Deno.test("perf: a missing symbol reads as a single space, as in Perl", () => {
  assert.equal(collapse(sample(H, "7f1e2215d058  (/lib/libc.so)")).folded, "prog;  1000\n");
});

Deno.test("perf: argument lists are cut at the first top-level parenthesis only", () => {
  const text = sample(
    H,
    "1 std::function<int (int, int)>::operator()(int, int) const+0x3 (/x)",
    "2 main::{lambda(long)#1}::operator()+0x1 (/x)",
    "3 (anonymous namespace)::Acc<long>::add_all(long*)+0x9 (/x)",
    "4 net/http.(*Client).Do+0x12 (/x)",
    "5 foo(int, char)+0x9 (/x)",
  );
  assert.equal(
    collapse(text).folded,
    "prog;foo;net/http.(*Client).Do;(anonymous namespace)::Acc<long>::add_all;" +
      "main::{lambda(long)#1}::operator;std::function<int (int, int)>::operator 1000\n",
  );
});

Deno.test("perf: quotes are deleted and ';' becomes ':'", () => {
  const text = sample(H, `1 RegExp:[&<>\\"\\'] (/tmp/perf-7539.map)`, "2 Lfoo/Bar;.run (/x)");
  assert.equal(collapse(text).folded, "prog;Lfoo/Bar:.run;RegExp:[&<>\\\\] 1000\n");
});

Deno.test("perf: java processes lose the L of class descriptors", () => {
  const text = sample("java 1 2.0: 1 cycles:", "1 Lorg/x/Y;.call(Lorg/Z;)V+0x1 (/tmp/perf-1.map)");
  assert.equal(collapse(text).folded, "java;org/x/Y:.call 1\n");
});

Deno.test("perf: symbols in parentheses are skipped, but not anonymous namespaces", () => {
  assert.equal(collapse(sample(H, "1 (deleted) (/x)", MAIN)).folded, "prog;main 1000\n");
});

Deno.test("perf: Java inlining with -> marks the inlined frames _[i]", () => {
  const text = sample(H, "1 a->b->c (/tmp/perf-1.map)", MAIN);
  assert.equal(collapse(text).folded, "prog;main;a;b_[i];c_[i] 1000\n");
  assert.equal(collapse(text, { jit: true }).folded, "prog;main;a_[j];b_[i];c_[i] 1000\n");
});

Deno.test("perf: half-demangled Rust symbols are repaired", () => {
  const text = sample(
    H,
    "1 _$LT$std..fs..File$u20$as$u20$std..io..Read$GT$::read::h5d84059cf335c8e6+0x1 (/x)",
    "2 rg::search::_$u7b$$u7b$closure$u7d$$u7d$::h6e849b55a66fcd85 (/x)",
    "3 std::rt::lang_start::hb90e1c1c787080f0 (/x)",
  );
  assert.equal(
    collapse(text).folded,
    "prog;std::rt::lang_start;rg::search::_{{closure}};<std::fs::File as std::io::Read>::read 1000\n",
  );
});

// ---------------------------------------------------------------- annotations

Deno.test("perf: --kernel marks kernel modules, versioned vmlinux and .ko files", () => {
  const text = sample(
    H,
    "1 a ([kernel.kallsyms])",
    "2 b (/usr/lib/debug/boot/vmlinux-5.4.14-cloudflare-2020.1.11)",
    "3 c (/lib/modules/6.1/kernel/net/nf.ko)",
    "4 d (/boot/vmlinux)",
    "5 e ([unknown])",
    "6 f (/usr/bin/prog)",
  );
  assert.equal(collapse(text, { kernel: true }).folded, "prog;f;e;d_[k];c_[k];b_[k];a_[k] 1000\n");
  assert.equal(collapse(text).folded, "prog;f;e;d;c;b;a 1000\n");
});

Deno.test("perf: --jit marks perf maps and perf inject's jitted-*.so", () => {
  const text = sample(
    H,
    "1 py::f:/a.py (/tmp/jitted-123-4.so)",
    "2 JS:~fib (/tmp/perf-99.map)",
    "3 g (/usr/lib/jitted-helper.so.1)",
  );
  assert.equal(collapse(text, { jit: true }).folded, "prog;g;JS:~fib_[j];py::f:/a.py_[j] 1000\n");
});

// ---------------------------------------------------------------- events

const TWO_EVENTS = sample("cmd 1 1.0: 10 instructions:", "1 ins (/x)") +
  sample("cmd 1 1.1: 20 cycles:", "1 cyc (/x)") +
  sample("cmd 1 1.2: 30 instructions:", "1 ins (/x)");

Deno.test("perf: the first event is the default filter, with a note", () => {
  const r = collapse(TWO_EVENTS);
  assert.equal(r.folded, "cmd;ins 40\n");
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /^Filtering for events of type: instructions .*cycles/);
});

Deno.test("perf: --event-filter picks an event; modifiers that change what counts are named", () => {
  assert.equal(collapse(TWO_EVENTS, { eventFilter: "cycles" }).folded, "cmd;cyc 20\n");
  const mod = sample("cmd 1 1.0: 5 cycles:u:", "1 f (/x)");
  assert.equal(collapse(mod, { eventFilter: "cycles:u" }).folded, "cmd;f 5\n");
  // `:u` (user time only) is part of the event, as in stackcollapse-perf.pl.
  const none = collapse(mod, { eventFilter: "cycles" });
  assert.equal(none.folded, "");
  assert.match(none.warnings.join("\n"), /no samples of event 'cycles'; the input has cycles:u/);
});

Deno.test("perf: --event-filter matches the event without the precision perf adds itself", () => {
  for (const event of ["cpu-clock:ppp", "cpu-clock:pppH", "cpu-clock:uhppp", "cpu-clock:P"]) {
    const text = sample(`cmd 1 1.0: 5 ${event}:`, "1 f (/x)") +
      sample("cmd 1 1.1: 7 task-clock:ppp:", "1 g (/x)") +
      `  cmd 1 1.2: 3 ${event}:  ffff h (/x)\n`;
    for (const lineByLine of [false, true]) {
      const r = collapse(text, { eventFilter: "cpu-clock", lineByLine });
      assert.equal(r.folded, "cmd;f 5\ncmd;h 3\n", `${event}, lineByLine ${lineByLine}`);
      assert.deepEqual(r.warnings, []);
    }
  }
  assert.ok(eventMatches("cpu-clock", "cpu-clock"));
  assert.ok(!eventMatches("cpu-clock", "cpu-clock-x:ppp"));
  assert.ok(!eventMatches("cpu", "cpu-clock:ppp"));
  assert.ok(!eventMatches("cpu-clock", "cpu-clock:zz"));
  assert.ok(!eventMatches("sched", "sched:sched_switch"));
  assert.ok(eventMatches("sched:sched_switch", "sched:sched_switch"));
});

Deno.test("perf: real recordings of perf's default event (cpu-clock:ppp) match cpu-clock", () => {
  for (
    const [name, samples] of [["default-event.perf.txt", 46], [
      "default-event.one-line.perf.txt",
      70,
    ]] as const
  ) {
    const text = Deno.readTextFileSync(repoPath(`fixtures/collapse/${name}`));
    const r = collapse(text, { eventFilter: "cpu-clock" });
    assert.equal(r.samples, samples, name);
    assert.equal(totalCount(r.stacks), samples * 2004008, name);
    assert.deepEqual(r.warnings, [], name);
    assert.equal(collapse(text, { eventFilter: "cpu-clock:ppp" }).folded, r.folded, name);
  }
});

Deno.test("perf: one-line samples (no call chain) are folded", () => {
  const text = "           false 39654 19115.489713:          1 cycles:u:  ffffffff9b201293 " +
    "[unknown] ([unknown])\n" +
    "  a-long-process-name 3 1.5:  7 cycles:u:      7fa68b1f2d84 _dl_start+0x4 (/usr/lib/ld.so)\n";
  const r = collapse(text);
  assert.equal(r.folded, "a-long-process-name;_dl_start 7\nfalse;[unknown] 1\n");
  assert.deepEqual(r.warnings, []);
  assert.equal(collapse(text, { eventFilter: "cycles" }).folded, "");
});

// ---------------------------------------------------------------- bad and odd input

Deno.test("perf: a last sample without its blank line is dropped with a warning", () => {
  const whole = sample(H, MAIN) + sample(H, "1 leaf (/x)", MAIN);
  const cut = whole.slice(0, whole.length - 1);
  const r = collapse(cut);
  assert.equal(r.folded, "prog;main 1000\n");
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0], /ends inside a sample.*dropped/);
  // Cut anywhere after the first frame: the samples before the cut are folded.
  for (let at = H.length + MAIN.length + 3; at < whole.length; at++) {
    const part = collapse(whole.slice(0, at));
    const complete = whole.slice(0, at).split("\n\n").length - 1;
    assert.equal(part.samples, complete, `cut at ${at}`);
  }
});

Deno.test("perf: lines that are not perf script are skipped with one warning", () => {
  const text = sample(H, MAIN) + sample(H, "THIS IS NOT A FRAME", "nor this", MAIN);
  const r = collapse(text);
  assert.equal(r.folded, "prog;main 2000\n");
  assert.deepEqual(r.warnings, [
    '2 lines not understood and skipped, the first at line 5: "THIS IS NOT A FRAME"',
  ]);
});

Deno.test("perf: CRLF input folds like LF input, at any chunk size", () => {
  const text = fixture("c-fp.perf.txt");
  const lf = collapse(text).folded;
  for (const chunk of [1, 2, 97, 4096]) {
    assert.equal(collapse(text.replaceAll("\n", "\r\n"), {}, chunk).folded, lf, `chunk ${chunk}`);
  }
});

Deno.test("perf: the chunk size never changes the result", () => {
  const text = fixture("cpp-templates.perf.txt");
  const options = { kernel: true, jit: true };
  const whole = collapse(text, options).folded;
  for (const chunk of [1, 3, 64, 1000, 65536]) {
    assert.equal(collapse(text, options, chunk).folded, whole, `chunk ${chunk}`);
  }
});

Deno.test("perf: comments are skipped and empty input gives no samples", () => {
  const r = collapse("# ========\n# captured on: today\n");
  assert.equal(r.folded, "");
  assert.equal(r.samples, 0);
  assert.match(r.warnings[0], /no samples/);
  assert.match(collapse("").warnings[0], /no samples/);
});

Deno.test("perf: whitespace-only input is empty input: no samples, the same one warning", () => {
  for (const text of ["", "\n", "   \n\t\n", " ", "\r\n  \r\n"]) {
    for (const lineByLine of [false, true]) {
      const r = collapse(text, { lineByLine });
      assert.equal(r.folded, "", JSON.stringify(text));
      assert.deepEqual(r.warnings, ["no samples in the input: the output is empty"]);
    }
  }
});

Deno.test("perf: lines of spaces inside a sample are no frame and nothing wrong", () => {
  const text = `${H}\n\t401200 leaf+0x5 (/usr/bin/prog)\n   \n\t${MAIN}\n\n`;
  for (const lineByLine of [false, true]) {
    const r = collapse(text, { lineByLine });
    assert.equal(r.folded, "prog;main;leaf 1000\n");
    assert.deepEqual(r.warnings, []);
  }
});

Deno.test("perf: input with no perf script line throws InputFormatError naming the line", () => {
  assert.throws(
    () => collapse("# comment\nhello world\nthis is text\n"),
    (err: unknown) =>
      err instanceof InputFormatError && err.line === 2 && /hello world/.test(err.message) &&
      /does not look like 'perf script' output/.test(err.message),
  );
  assert.throws(() => collapse("main;foo;bar 12\nmain;foo 3\n"), InputFormatError);
});

Deno.test("perf: binary noise and replacement characters never crash", () => {
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const noise = Array.from({ length: 200_000 }, () => String.fromCharCode(random() * 256)).join("");
  const text = sample(H, MAIN) + noise + "\n\n" + sample(H, "1 \ufffd\ufffd (/x)", MAIN);
  for (const chunk of [0, 1000]) {
    const r = collapse(text, {}, chunk);
    assert.match(r.folded, /^prog;main 1000\n/);
    assert.match(r.folded, /prog;main;\ufffd\ufffd 1000\n/);
  }
});

Deno.test("perf: 5000-frame stacks and 100 KB symbols are folded", () => {
  const frames = Array.from({ length: 5000 }, (_, i) => `${(i + 1).toString(16)} f${i} (/x)`);
  const deep = collapse(sample(H, ...frames));
  const stack = [...deep.stacks.keys()][0].split(";");
  assert.equal(stack.length, 5001);
  assert.equal(stack[1], "f4999");
  assert.equal(stack[5000], "f0");
  const long = "x".repeat(100_000);
  const wide = collapse(sample(H, `1 ${long}+0x1 (/x)`, `2 ${long}(${long}) (/x)`), {}, 4096);
  assert.equal(wide.folded, `prog;${long};${long} 1000\n`);
});

Deno.test("perf: a line longer than the line limit is cut, with a warning", () => {
  const huge = "y".repeat((1 << 24) + 10);
  const r = collapse(sample(H, MAIN) + huge + "\n\n" + sample(H, MAIN), {}, 1 << 20);
  assert.equal(r.folded, "prog;main 2000\n");
  assert.match(r.warnings.join("\n"), /longer than .* cut/);
});

Deno.test("perf: each frame is tidied for the process it was read under, as in Perl", () => {
  // No blank line between a java sample and a prog sample: one stack under prog, whose first
  // frame was read under java (the class descriptor's L goes) and the second under prog.
  const text = "java 1 1.0: 1 cycles:\n\t1 Lorg/x/Y;.call (/x)\n" +
    "prog 1 1.1: 1 cycles:\n\t2 Lmain/x;.y (/x)\n\n" +
    sample("prog 1 1.2: 1 cycles:", "1 Lorg/x/Y;.call (/x)");
  for (const lineByLine of [false, true]) {
    assert.equal(
      collapse(text, { lineByLine }).folded,
      "prog;Lmain/x:.y;org/x/Y:.call 1\nprog;Lorg/x/Y:.call 1\n",
    );
  }
});

Deno.test("perf: Perl's quirks are kept: a filtered header leaves the frames before it", () => {
  // No blank line after the first sample: Perl joins the second sample's frames to it.
  const text = `${H}\n\t1 a (/x)\n${H}\n\t2 b (/x)\n\n`;
  assert.equal(collapse(text).folded, "prog;b;a 1000\n");
  // Frames after a blank line with no header before them are ignored.
  assert.equal(collapse(`${H}\n\n\t1 orphan (/x)\n\n`).folded, "prog 1000\n");
});

// ---------------------------------------------------------------- --srcline

Deno.test("perf: --srcline appends source lines, also to perf's inlined frames", () => {
  const text = Deno.readTextFileSync(repoPath("fixtures/collapse/srcline.perf.txt"));
  const r = collapse(text, { srcline: true });
  const stacks = r.folded.trimEnd().split("\n");
  assert.ok(
    stacks.includes(
      "p_;_start:??:0;__libc_start_main_impl:libc-start.c:360;__libc_start_call_main:libc-" +
        "start.c:58;main:p.c:5;mid:p.c:4;inner:p.c:3 3003003",
    ),
    r.folded,
  );
  assert.ok(r.folded.includes("sh;_Fork:arch-fork.h:52;entry_SYSCALL_64_after_hwframe;"));
  assert.deepEqual(r.warnings, []);
  // Without --srcline the source lines are not understood.
  assert.match(collapse(text).warnings[0], /lines not understood/);
});

Deno.test("perf: --srcline: a frame without a source line takes none", () => {
  const text = `${H}\n\t1 a (/x)\n  a.c:1\n\t2 b ([unknown])\n\t3 c (/x)\n  c.c:3\n\n` +
    `${H}\n\t4 d (/x)\n\n`;
  assert.equal(
    collapse(text, { srcline: true }).folded,
    "prog;c:c.c:3;b;a:a.c:1 1000\nprog;d 1000\n",
  );
});

// ---------------------------------------------------------------- --inline

Deno.test("perf: --inline expands frames with addr2line, cached per address", () => {
  const calls: string[][] = [];
  const runTool = (program: string, args: string[]) => {
    calls.push([program, ...args]);
    // addr2line -i prints the inlined function first, then the functions it was inlined into.
    if (args[1] === "0x40") return "0x40\ninner\ninl.h:3 (discriminator 2)\nouter\nmain.c:9\n";
    return "0x99\n??\n??:0\n";
  };
  const exe = Deno.execPath(); // any existing file stands for the module
  const text = sample(
    H,
    `0x40 leaf+0x4 (${exe})`,
    `0x99 main+0x9 (${exe})`,
    "1 k ([kernel.kallsyms])",
  );
  const r = collapse(text + text, { inline: true, runTool });
  assert.equal(r.folded, "prog;k;main;outer;inner 2000\n");
  assert.equal(calls.filter((c) => c[0] === "addr2line").length, 2);
  assert.deepEqual(
    calls.find((c) => c[2] === "0x40"),
    ["addr2line", "-a", "0x40", "-e", exe, "-i", "-f", "-s", "-C"],
  );
  const context = collapse(text, { inline: true, context: true, runTool });
  assert.equal(context.folded, "prog;k;main;outer:main.c:9;inner:inl.h:3 1000\n");
});

// ---------------------------------------------------------------- the transform hook

Deno.test("perf: transform sees raw frames leaf first, inlined frames with their module", () => {
  const seen: RawFrame[][] = [];
  const transform = (frames: RawFrame[]) => {
    seen.push(frames.map((f) => ({ ...f })));
    return frames.filter((f) => f.sym !== "drop").map((f) => {
      if (f.sym === "rename") f.sym = "renamed";
      return f;
    });
  };
  const text = sample(
    H,
    "1 leaf(int)+0x1 (inlined)",
    "1 drop+0x2 (/usr/lib/a.so)",
    "2 rename+0x3 (/usr/lib/b.so)",
    "3 [unknown] (/usr/lib/c.so)",
  );
  const r = collapse(text, { transform, addrs: true });
  assert.deepEqual(seen, [[
    { sym: "leaf(int)", module: "/usr/lib/a.so" },
    { sym: "drop", module: "/usr/lib/a.so" },
    { sym: "rename", module: "/usr/lib/b.so" },
    { sym: "[unknown]", module: "/usr/lib/c.so" },
  ]]);
  assert.equal(r.folded, "prog;[c.so <3>];renamed;leaf 1000\n");
});

Deno.test("perf: the line-by-line path, and an identity transform, equal the block path", () => {
  const same = (frames: RawFrame[]) => frames;
  for (const name of FIXTURES) {
    const text = fixture(name);
    for (const options of [{}, { pid: true, kernel: true, jit: true, addrs: true }]) {
      const folded = collapse(text, options).folded;
      assert.equal(collapse(text, { ...options, lineByLine: true }, 5000).folded, folded, name);
      assert.equal(collapse(text, { ...options, transform: same }, 5000).folded, folded, name);
    }
  }
});

Deno.test("perf: the transform runs once per distinct stack; addresses and offsets do not count", () => {
  let calls = 0;
  const transform = (frames: RawFrame[]) => {
    calls++;
    return frames;
  };
  const text = sample(H, "401200 leaf+0x5 (/usr/bin/prog)", MAIN) +
    sample(H, "401207 leaf+0xc (/usr/bin/prog)", MAIN) +
    sample(H, "7f0001 leaf+0x5 (/usr/bin/prog)", "401010 main+0x20 (/usr/bin/prog)") +
    sample(H, "401200 other+0x5 (/usr/bin/prog)", MAIN);
  const r = collapse(text, { transform });
  assert.equal(r.folded, "prog;main;leaf 3000\nprog;main;other 1000\n");
  assert.equal(calls, 2);
});

Deno.test("perf: a frame's display name is final: kept whole, only marked", () => {
  const transform = (frames: RawFrame[]) =>
    frames.map((f) => f.sym === "py::fib" ? { ...f, display: "fib (work.py);'x'" } : f);
  const text = sample(H, "85 py::fib+0x5 (/tmp/jitted-1-2.so)", "1 (anon)+0x1 (/usr/bin/prog)");
  assert.equal(collapse(text, { transform }).folded, "prog;fib (work.py):'x' 1000\n");
  assert.equal(
    collapse(text, { transform, jit: true }).folded,
    "prog;fib (work.py):'x'_[j] 1000\n",
  );
});

Deno.test("perf: onStack sees each distinct raw stack with its samples; onHeader each header", () => {
  const stacks: [string, number][] = [];
  const headers: string[] = [];
  const text = sample(H, "401200 leaf+0x5 (/usr/bin/prog)", "1 inl+0x2 (inlined)", MAIN) +
    sample(
      "prog 1234 100.5: 1000 cpu-clock:",
      "401201 leaf+0x6 (/usr/bin/prog)",
      "1 inl+0x2 (inlined)",
      MAIN,
    ) +
    sample(H, MAIN);
  const r = collapse(text, {
    onStack: (frames, n) => stacks.push([frames.map((f) => `${f.sym}@${f.module}`).join(","), n]),
    onHeader: (line) => headers.push(line),
  });
  assert.equal(r.samples, 3);
  assert.deepEqual(stacks.sort(), [
    ["leaf@/usr/bin/prog,inl@/usr/bin/prog,main@/usr/bin/prog", 2],
    ["main@/usr/bin/prog", 1],
  ]);
  assert.deepEqual(headers, [H, "prog 1234 100.5: 1000 cpu-clock:", H]);
});

Deno.test("perf: the readable rewriter folds recordings exactly as the readable transforms", () => {
  for (
    const name of ["python313-perfjit.perf.txt", "node-basic-prof.perf.txt", "c-dwarf.perf.txt"]
  ) {
    const text = fixture(name);
    const everyStack = collapse(text, { transform: readableFrames });
    const rewritten = collapse(text, readableFrameOptions({ python: true, js: true }));
    assert.equal(rewritten.folded, everyStack.folded, name);
    assert.deepEqual([...rewritten.stacks], [...everyStack.stacks], name);
    if (!name.startsWith("c-")) assert.notEqual(rewritten.folded, collapse(text).folded, name);
  }
});

Deno.test("perf: the readable rewriter folds random stacks exactly as the readable transforms", () => {
  let seed = 7;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const LIB = "/usr/lib/libpython3.13.so.1.0";
  const palette = [
    `py::f:/a/work.py (/tmp/jitted-1-${1}.so)`,
    "py::g:<frozen importlib._bootstrap> (/tmp/jitted-1-2.so)",
    "py::h:/b/x.py (/tmp/perf-3.map)",
    `_PyEval_EvalFrameDefault (${LIB})`,
    `py_trampoline_evaluator (${LIB})`,
    `PyObject_Vectorcall (${LIB})`,
    `_Py_RunGC (${LIB})`,
    `_PyEval_EvalFrameDefault (inlined)`,
    "JS:*fib /app/x.js:3:13 (/tmp/perf-9.map)",
    "JS:~ node:internal/main/run_main_module:1:1 (/tmp/perf-9.map)",
    "LazyCompile:~body_0 evalmachine.<anonymous>:1 (/tmp/perf-9.map)",
    "Builtin:ArrayPrototypeSort (/tmp/perf-9.map)",
    "[unknown] (/tmp/perf-9.map)",
    "_start (/usr/bin/python3.13)",
    "__libc_start_call_main (/usr/lib/libc.so.6)",
    "start_thread (/usr/lib/libc.so.6)",
    "main (/usr/bin/app)",
    "zlib_compress (/usr/lib/zlib.so)",
    "inl(int) (inlined)",
    "(anon) (/usr/bin/app)",
    "a;b (/usr/bin/app)",
    "do_syscall_64 ([kernel.kallsyms])",
  ];
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) {
    lines.push(`${["python3", "node", "java"][next(3)]} 1 1.${i}: ${1 + next(9)} cpu-clock:`);
    for (let j = next(14); j > 0; j--) {
      lines.push(`\t${(1 + next(4096)).toString(16)} ${palette[next(palette.length)]}`);
    }
    lines.push("");
  }
  const text = lines.join("\n") + "\n";
  for (
    const which of [{ python: true, js: false }, { python: false, js: true }, {
      python: true,
      js: true,
    }]
  ) {
    for (const marks of [{}, { kernel: true, jit: true, tid: true }]) {
      const options = { ...readableFrameOptions(which), ...marks };
      const fast = collapse(text, options, 4096);
      const { rewriter: _, ...everyStack } = options;
      const slow = collapse(text, everyStack, 4096);
      assert.equal(fast.folded, slow.folded, JSON.stringify([which, marks]));
      assert.ok(fast.stacks.size > 100);
    }
  }
});

// ---------------------------------------------------------------- what frames are

Deno.test("perf: the result says what each folded name is: kind, file and line, or module", () => {
  const text = sample(
    "python3.13 1 1.0: 1000 cpu-clock:",
    "ffffffff8100 do_syscall_64+0x5 ([kernel.kallsyms])",
    "85 py::fib:/tmp/demo/work.py+0x5 (/tmp/jitted-9-2.so)",
    "2bc5f0 py_trampoline_evaluator+0x70 (/usr/lib/libpython3.13.so.1.0)",
    "7f0b1 JS:*fib /app/x.js:3:13+0x9d (/tmp/perf-9.map)",
    "7f0b2 [unknown] (/tmp/perf-9.map)",
    "1 a->b (/tmp/perf-9.map)",
    "ffff1 [unknown] ([unknown])",
    "401000 main+0x10 (/usr/bin/prog)",
  );
  for (const options of [{ kernel: true, jit: true }, { lineByLine: true }]) {
    const r = new PerfCollapser(options);
    r.push(text);
    const { frames, stacks } = r.finish();
    const k = options.kernel ? "_[k]" : "";
    const j = options.kernel ? "_[j]" : "";
    assert.deepEqual(frames.get("python3.13"), { kind: "root" });
    assert.deepEqual(frames.get(`do_syscall_64${k}`), {
      kind: "kernel",
      module: "[kernel.kallsyms]",
    });
    assert.deepEqual(frames.get(`py::fib:/tmp/demo/work.py${j}`), {
      kind: "python",
      file: "/tmp/demo/work.py",
    });
    assert.deepEqual(frames.get(`JS:*fib /app/x.js:3:13${j}`), {
      kind: "js",
      file: "/app/x.js",
      line: 3,
    });
    assert.deepEqual(frames.get(`[perf-9.map]${j}`), { kind: "jit", module: "/tmp/perf-9.map" });
    assert.deepEqual(frames.get(`a${j}`), { kind: "jit", module: "/tmp/perf-9.map" });
    assert.deepEqual(frames.get("b_[i]"), { kind: "jit", module: "/tmp/perf-9.map" });
    assert.deepEqual(frames.get("[unknown]"), { kind: "unknown" });
    assert.deepEqual(frames.get("main"), { kind: "native", module: "/usr/bin/prog" });
    // Every frame of every stack is described.
    for (const stack of stacks.keys()) {
      for (const name of stack.split(";")) assert.ok(frames.has(name), name);
    }
  }
});

Deno.test("perf: --srcline and --context give frames their file and line", () => {
  const text = `${H}\n\t1 a (/x)\n  a.c:12\n\t2 b (/x)\n  ??:0\n\n`;
  const r = new PerfCollapser({ srcline: true });
  r.push(text);
  const { frames } = r.finish();
  assert.deepEqual(frames.get("a:a.c:12"), { kind: "native", module: "/x", file: "a.c", line: 12 });
  assert.deepEqual(frames.get("b:??:0"), { kind: "native", module: "/x" });
  const exe = Deno.execPath(); // any existing file stands for the module
  const runTool = () => "0x40\ninner\ninl.h:3 (discriminator 2)\nouter\nmain.c:9\n";
  const c = new PerfCollapser({ inline: true, context: true, runTool });
  c.push(sample(H, `0x40 leaf+0x4 (${exe})`));
  const inlined = c.finish().frames;
  assert.deepEqual(inlined.get("inner:inl.h:3"), {
    kind: "native",
    module: exe,
    file: "inl.h",
    line: 3,
  });
  assert.deepEqual(inlined.get("outer:main.c:9"), {
    kind: "native",
    module: exe,
    file: "main.c",
    line: 9,
  });
});

Deno.test("perf: profileOf makes the result a profile without copying its stacks", () => {
  const r = new PerfCollapser();
  r.push(sample(H, "401200 leaf+0x5 (/usr/bin/prog)", MAIN));
  const result = r.finish();
  const profile = profileOf(result, "nanoseconds", { producer: "perf" });
  assert.equal(profile.stacks, result.stacks);
  assert.equal(profile.unit, "nanoseconds");
  assert.deepEqual(profile.meta, { producer: "perf" });
  assert.deepEqual(frameInfo(profile, "leaf"), { kind: "native", module: "/usr/bin/prog" });
  assert.deepEqual(frameInfo(profile, "prog"), { kind: "root" });
});

// ---------------------------------------------------------------- recorded fixtures

/** The stacks of a fixture as arrays of frames, with their counts. */
function stacksOf(name: string, options: Partial<PerfOptions> = {}) {
  const r = collapse(fixture(name), options);
  return { ...r, list: [...r.stacks].map(([s, n]) => ({ frames: s.split(";"), n })) };
}

/** Samples in a perf script file: its header lines. */
function headerCount(text: string): number {
  return text.split("\n").filter((l) => /^\S.* \d+ cpu-clock: ?$/.test(l)).length;
}

for (const name of FIXTURES) {
  Deno.test(`perf: ${name}: every sample is counted with its period`, () => {
    const text = fixture(name);
    const r = collapse(text, {}, 65536);
    assert.ok(r.samples > 100);
    assert.equal(r.samples, headerCount(text));
    assert.equal(totalCount(r.stacks), r.samples * 2004008);
    assert.deepEqual(r.warnings, []);
  });
}

Deno.test("perf: c-dwarf: every stack reaches _start; inlined frames are kept", () => {
  const { list } = stacksOf("c-dwarf.perf.txt");
  for (const { frames } of list) {
    assert.equal(frames[0], "prog");
    assert.equal(frames[1], "_start");
  }
  assert.ok(list.some(({ frames }) => frames.join(";").includes("main;mid_a;mid_b;leaf_compute")));
  assert.ok(list.some(({ frames }) => frames.includes("msort_with_tmp")));
});

Deno.test("perf: c-fp: frame pointers lose mid_b", () => {
  const { list } = stacksOf("c-fp.perf.txt");
  assert.ok(list.some(({ frames }) => frames.join(";").includes("main;mid_a;leaf_compute")));
  assert.ok(list.every(({ frames }) => !frames.includes("mid_b")));
});

Deno.test("perf: c-dwarf.fields (pid/tid header, no offsets) folds like c-dwarf", () => {
  const fields = stacksOf("c-dwarf.fields.perf.txt", { tid: true });
  assert.ok(fields.list.every(({ frames }) => /^prog-\d+\/\d+$/.test(frames[0])));
  const plain = stacksOf("c-dwarf.fields.perf.txt");
  assert.equal(totalCount(plain.stacks), totalCount(stacksOf("c-dwarf.perf.txt").stacks));
});

Deno.test("perf: cpp-templates: templates, lambdas and anonymous namespaces survive", () => {
  const { folded } = stacksOf("cpp-templates.perf.txt");
  assert.match(
    folded,
    /;std::function<long \(long\)>::operator;main::\{lambda\(long\)#1\}::operator[; ]/,
  );
  assert.match(folded, /;\(anonymous namespace\)::Accumulator<long>::add_all[; ]/);
  assert.match(folded, /;std::_Rb_tree<[^;]*>::_M_lower_bound[; ]/);
  assert.doesNotMatch(folded, /\+0x/);
});

Deno.test("perf: python313: --jit marks the perf_jit frames", () => {
  const { folded } = stacksOf("python313-perfjit.perf.txt", { jit: true });
  assert.match(folded, /;py::inner_loop:\/tmp\/flame-fixtures\/work\.py_\[j\][; ]/);
  assert.doesNotMatch(collapse(fixture("python313-perfjit.perf.txt")).folded, /_\[j\]/);
});

Deno.test("perf: node: --jit marks perf-map frames, --kernel the kernel", () => {
  const { folded } = stacksOf("node-basic-prof.perf.txt", { jit: true, kernel: true });
  assert.match(folded, /;JS:~fib \/tmp\/flame-fixtures\/work\.js:\d+:\d+_\[j\][; ]/);
  assert.match(folded, /;do_syscall_64_\[k\]/);
});

Deno.test("perf: shell-pipeline: one root per process, kernel frames marked", () => {
  const { list, stacks } = stacksOf("shell-pipeline.perf.txt", { kernel: true });
  const roots = new Set(list.map(({ frames }) => frames[0]));
  assert.deepEqual([...roots].sort(), ["cat", "dd", "gzip", "sha256sum"]);
  const kernel = list.filter(({ frames }) => frames.at(-1)!.endsWith("_[k]"));
  const kernelShare = kernel.reduce((a, { n }) => a + n, 0) / totalCount(stacks);
  assert.ok(kernelShare > 0.7, `kernel share ${kernelShare}`);
  assert.ok(list.some(({ frames }) => frames.includes("[gzip]")));
});

// ---------------------------------------------------------------- random input

/**
 * Random perf-script-like text: odd headers, missing blank lines, comments, junk lines, and
 * frames that recur at other addresses and offsets (what the collapser's hints look for).
 */
function randomPerfText(seed: number, records = 40 + (seed % 60)): string {
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  const pick = <T>(items: T[]): T => items[next(items.length)];
  const comms = ["prog", "java", "V8 Worker", "x", "java-1", "t 2 x", "kworker/0:1"];
  const events = ["cycles:", "instructions:", "cycles:u:", "cpu-clock:"];
  const syms = [
    "main+0x1f",
    "main+0x2a",
    "main+0x1F",
    "g+0x1+0x2",
    "g+0x1+0x3",
    "foo(int)",
    "[unknown]",
    "a->b",
    "Lorg/x/Y;.call(LZ;)V",
    "x;y",
    "",
    " ",
  ];
  const modules = [
    "/usr/bin/prog",
    "[kernel.kallsyms]",
    "/tmp/perf-1.map",
    "[unknown]",
    "inlined",
    "/x (deleted)",
  ];
  const addresses = ["ffff1", "400570", "0", "            400571", "7f12", "x"];
  const lines: string[] = [];
  for (let i = 0; i < records; i++) {
    const r = next(100);
    if (r < 3) lines.push("# comment");
    else if (r < 6) lines.push(pick(["\tjunk", "", "   ", "comm 12 cycles:", "ffff main (/x)"]));
    else if (r < 9) {
      lines.push(
        `  ${pick(comms)} ${next(99)} 1.0: ${next(9)} ${pick(events)}  ${next(999)} f (/x)`,
      );
    } else {
      const pid = next(2) ? `${next(5000)}/${next(3)}` : `${next(5000)}`;
      lines.push(
        `${pick(comms)} ${pid} ${next(999)}.5: ${pick(["", "1 ", "0 ", "17 "])}${pick(events)}`,
      );
      for (let j = next(6); j > 0; j--) {
        const indent = next(20) === 0 ? "  " : "\t";
        const sym = next(10) === 0 ? "" : ` ${pick(syms)}`; // "7f12 (x)": the symbol is "2"
        lines.push(`${indent}${pick(addresses)}${sym} (${pick(modules)})`);
        // What --srcline reads: source lines, and perf's inlined frames without a module.
        if (next(4) === 0) lines.push(pick(["  work.c:12", "  x.h:3 (inlined)", "\t400570 inl"]));
      }
      if (next(15) !== 0) lines.push("");
    }
  }
  return lines.join("\n") + "\n\n";
}

Deno.test("perf: on random input the block path equals the line-by-line path", () => {
  for (let seed = 1; seed <= 400; seed++) {
    const text = randomPerfText(seed, seed > 300 ? 2000 : undefined);
    const options = [
      {},
      { tid: true, kernel: true, addrs: true },
      { eventFilter: "cycles" },
      { srcline: true },
    ][seed % 4];
    const slow = collapse(text, { ...options, lineByLine: true }, 0);
    const fast = collapse(text, options, 1 + (seed * 7919) % 300);
    assert.equal(fast.folded, slow.folded, `seed ${seed}`);
    assert.deepEqual(fast.warnings, slow.warnings, `seed ${seed}`);
    assert.equal(fast.samples, slow.samples, `seed ${seed}`);
  }
});

Deno.test("perf: tiny caches (emptied all the time) give the same result", () => {
  for (const name of ["c-dwarf.perf.txt", "node-basic-prof.perf.txt"]) {
    const text = fixture(name);
    const options = { pid: true, kernel: true };
    const tiny = collapse(text, { ...options, cacheChars: 1000 }, 4096);
    assert.equal(tiny.folded, collapse(text, options).folded, name);
  }
});
