/**
 * cProfile/pstats: real files of five CPythons (2.7 to 3.13), the rebuilt call tree's shape and
 * totals, and marshal data that is hostile or not pstats at all.
 */
import assert from "node:assert/strict";
import { FlameError } from "../src/errors.ts";
import { readMarshal } from "../src/formats/marshal.ts";
import {
  type PstatsFunction,
  pstatsFunctions,
  pstatsReader,
  rebuildStacks,
} from "../src/formats/pstats.ts";
import { readProfile } from "../src/formats/registry.ts";
import { stackFrames, totalWeight } from "../src/profile/profile.ts";
import { repoPath } from "./helpers.ts";

const VERSIONS = ["27", "36", "39", "312", "313"];

/** Sum of every function's own time in a pstats file, in ns (what the rebuilt tree must hold). */
function ownTimeNs(path: string): number {
  const fns = pstatsFunctions(readMarshal(Deno.readFileSync(path)), 1e6);
  return fns.reduce((s, f) => s + f.ownTime, 0) * 1e9;
}

/** Weight of the stacks that pass through `frames` in that order (a prefix of the key). */
function under(stacks: Map<string, number>, test: (frames: string[]) => boolean): number {
  let w = 0;
  for (const [k, v] of stacks) if (test(stackFrames(k))) w += v;
  return w;
}

for (const v of VERSIONS) {
  Deno.test(`pstats: cProfile of Python ${v[0]}.${v.slice(1)}: tree rebuilt, totals kept`, async () => {
    const path = repoPath(`fixtures/formats/cprofile-py${v}.prof`);
    const { profile, format, warnings } = await readProfile(path);
    assert.equal(format, "pstats");
    assert.equal(profile.unit, "nanoseconds");
    assert.match(warnings.join("\n"), /rebuilt/);
    // Every function's own time lands somewhere, once (rounding: 1 ns per stack at most).
    const total = totalWeight(profile.stacks);
    assert.ok(Math.abs(total - ownTimeNs(path)) <= profile.stacks.size, `${total}`);
    // Every stack runs from the script down; direct recursion is folded into one frame, a
    // cycle through another function followed round once more at most.
    const keys = [...profile.stacks.keys()].filter((k) => k.includes("main (prog.py"));
    assert.ok(keys.length >= 4);
    for (const k of keys) {
      const frames = stackFrames(k);
      assert.ok(!frames.some((f, i) => i > 0 && frames[i - 1] === f), `no frame on itself: ${k}`);
      for (const f of frames) assert.ok(frames.filter((x) => x === f).length <= 2, k);
    }
    // shared's time is split between heavy and light as the file says each spent in it.
    const fns = pstatsFunctions(readMarshal(Deno.readFileSync(path)), 1e6);
    const shared = fns.find((f) => f.name === "shared")!;
    const callerTime = (name: string) =>
      shared.callers.find((c) => fns[c.caller].name === name)!.cumulativeTime;
    const expected = callerTime("heavy") / callerTime("light");
    const inShared = (caller: string) =>
      under(
        profile.stacks,
        (f) =>
          f.some((x) => x.startsWith(`${caller} (`)) && f.some((x) => x.startsWith("shared (")),
      );
    const ratio = inShared("heavy") / inShared("light");
    assert.ok(Math.abs(ratio / expected - 1) < 0.01, `rebuilt ${ratio}, in the file ${expected}`);
    // Mutual recursion stops after two rounds: is_even → is_odd → is_even → is_odd, no deeper.
    const cycle =
      /is_even \(prog\.py:\d+\);is_odd \(prog\.py:\d+\);is_even \(prog\.py:\d+\);is_odd/;
    assert.ok(keys.some((k) => cycle.test(k)), keys.join("\n"));
    const fnInfo = profile.frames.get(
      [...profile.frames.keys()].find((n) => n.startsWith("fib ("))!,
    );
    assert.equal(fnInfo?.kind, "python");
    assert.equal(fnInfo?.file, "prog.py");
  });
}

Deno.test("pstats: imports: exec is a root by its calls no caller made; totals kept", async () => {
  const path = repoPath("fixtures/formats/cprofile-imports-py312.prof");
  const { profile } = await readProfile(path);
  const total = totalWeight(profile.stacks);
  assert.ok(Math.abs(total - ownTimeNs(path)) <= profile.stacks.size);
  // exec is called 11 times, 10 of them by the import machinery (which exec itself runs): the
  // one call no function made is the script, under which nearly all the time was spent.
  const underExec = under(profile.stacks, (f) => f[0] === "<built-in method builtins.exec>");
  assert.ok(underExec > 0.9 * total, `${underExec} of ${total}`);
  assert.ok([...profile.stacks.keys()].some((k) => k.includes("parse_args (argparse.py:")));
});

Deno.test("pstats: Python 2's built-ins and Python 3's keep their own names", async () => {
  const py2 = (await readProfile(repoPath("fixtures/formats/cprofile-py27.prof"))).profile;
  const py3 = (await readProfile(repoPath("fixtures/formats/cprofile-py313.prof"))).profile;
  assert.ok([...py2.frames.keys()].includes("<sorted>"));
  assert.ok([...py3.frames.keys()].includes("<built-in method builtins.sorted>"));
  assert.equal(py3.frames.get("<built-in method builtins.sorted>")?.kind, "native");
});

/** A function for synthetic call graphs. */
function fn(name: string, own: number, cum: number, callers: [number, number][]): PstatsFunction {
  return {
    file: "x.py",
    line: 1,
    name,
    calls: callers.length || 1,
    primitiveCalls: callers.length || 1,
    ownTime: own,
    cumulativeTime: cum,
    callers: callers.map(([caller, t]) => ({ caller, calls: 1, cumulativeTime: t })),
  };
}

Deno.test("pstats: a shared callee is split among its callers by their time in it", () => {
  // main → a (3 s in c), main → b (1 s in c); c has 4 s of its own.
  const fns = [
    fn("main", 0, 6, []),
    fn("a", 1, 4, [[0, 4]]),
    fn("b", 1, 2, [[0, 2]]),
    fn("c", 4, 4, [[1, 3], [2, 1]]),
  ];
  const { stacks } = rebuildStacks(fns);
  assert.equal(stacks.get("main (x.py:1);a (x.py:1);c (x.py:1)"), 3e9);
  assert.equal(stacks.get("main (x.py:1);b (x.py:1);c (x.py:1)"), 1e9);
  assert.equal(stacks.get("main (x.py:1);a (x.py:1)"), 1e9);
  assert.equal(totalWeight(stacks), 6e9);
});

Deno.test("pstats: a graph with 10^30 paths is rebuilt in bounded time with its total", () => {
  // 30 layers of 10 functions, each calling all of the next layer: paths merge past the bound.
  const fns: PstatsFunction[] = [fn("root", 0, 30, [])];
  for (let layer = 0; layer < 30; layer++) {
    for (let i = 0; i < 10; i++) {
      const callers: [number, number][] = layer === 0
        ? [[0, 30 - layer]]
        : Array.from({ length: 10 }, (_, j) => [1 + (layer - 1) * 10 + j, (30 - layer) / 10]);
      fns.push(fn(`f${layer}_${i}`, 0.1, 30 - layer, callers));
    }
  }
  const started = performance.now();
  const { stacks, merged } = rebuildStacks(fns);
  assert.ok(performance.now() - started < 20_000);
  assert.ok(merged > 0);
  assert.ok(Math.abs(totalWeight(stacks) - 30e9) < 1e3, `${totalWeight(stacks)}`);
});

Deno.test("pstats: a cycle with no way in from a root adds nothing and ends", () => {
  const fns = [fn("main", 1, 1, []), fn("a", 1, 2, [[2, 2]]), fn("b", 1, 2, [[1, 2]])];
  const { stacks } = rebuildStacks(fns);
  assert.deepEqual([...stacks], [["main (x.py:1)", 1e9]]);
});

/** Runs the real Python 3 once to marshal each value (Python expressions), in order. */
async function marshalled(...exprs: string[]): Promise<Uint8Array[]> {
  const code = "import base64,marshal\nfor e in [" + exprs.join(", ") +
    "]: print(base64.b64encode(marshal.dumps(e)).decode())";
  const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", code], stdout: "piped" })
    .output();
  assert.ok(out.success);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return lines.map((l) => Uint8Array.from(atob(l), (c) => c.charCodeAt(0)));
}

async function readBytes(bytes: Uint8Array) {
  const { readFormatInput } = await import("../src/formats/registry.ts");
  const { formatInputFrom } = await import("../src/formats/input.ts");
  const input = await formatInputFrom({
    name: "in.prof",
    readable: new Blob([bytes as BlobPart]).stream(),
  });
  return readFormatInput(input, { from: "pstats" });
}

Deno.test("pstats: hostile and foreign marshal data is one line of error", async () => {
  const good = Deno.readFileSync(repoPath("fixtures/formats/cprofile-py313.prof"));
  const [list, other, otherKeys, code] = await marshalled(
    "[1, 2, 3]",
    "{('a', 1, 'f'): 3}",
    "{1: 2}",
    "compile('1', 'x', 'eval')",
  );
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated", good.subarray(0, good.length / 2), /truncated|runs past the end/],
    ["a list", list, /not a dict/],
    [
      "a dict of other things",
      other,
      /not \(cc, nc, tt, ct, callers\)/,
    ],
    ["a dict with other keys", otherKeys, /not \(file, line, name\)/],
    ["a huge length", new Uint8Array([0x7b, 0x28, 0xff, 0xff, 0xff, 0x7f]), /runs past the end/],
    ["a code object", code, /unexpected type code/],
    [
      "nesting",
      new Uint8Array([...new Array(200).fill(0x5b).flatMap((b) => [b, 1, 0, 0, 0])]),
      /nested more than/,
    ],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(readBytes(bytes), (err: Error) => {
      assert.ok(err instanceof FlameError, what);
      assert.match(err.message, /^in\.prof: not a pstats file/, what);
      assert.match(err.message, message, what);
      assert.ok(!err.message.includes("\n"), what);
      return true;
    });
  }
});

Deno.test("pstats: detected by its first bytes, not confused with JSON", () => {
  const py2 = Deno.readFileSync(repoPath("fixtures/formats/cprofile-py27.prof"));
  const py3 = Deno.readFileSync(repoPath("fixtures/formats/cprofile-py39.prof"));
  assert.ok(pstatsReader.detect(py2, ""));
  assert.ok(pstatsReader.detect(py3, ""));
  assert.ok(!pstatsReader.detect(new TextEncoder().encode('{"nodes": []}'), ""));
});
