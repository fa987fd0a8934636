/**
 * speedscope JSON: py-spy's real output in, flame's own out (sampled and evented, one profile
 * per thread), round trips with totals intact, and JSON that is not speedscope.
 */
import assert from "node:assert/strict";
import { FlameError } from "../src/errors.ts";
import { formatInputFrom } from "../src/formats/input.ts";
import {
  encodeProfile,
  readFormatInput,
  readProfile,
  writerByName,
} from "../src/formats/registry.ts";
import { speedscopeToProfile } from "../src/formats/speedscope.ts";
import { addSample, emptyProfile, type Profile, totalWeight } from "../src/profile/profile.ts";
import { repoPath } from "./helpers.ts";

async function roundTrip(
  profile: Profile,
): Promise<{ json: Record<string, unknown>; back: Profile }> {
  const { bytes } = await encodeProfile(profile, writerByName("speedscope"));
  const json = JSON.parse(new TextDecoder().decode(bytes));
  return { json, back: speedscopeToProfile(json, "x").profile };
}

Deno.test("speedscope: py-spy --format speedscope: seconds to ns, frames with file and line", async () => {
  const path = repoPath("fixtures/formats/pyspy.speedscope.json");
  const json = JSON.parse(Deno.readTextFileSync(path));
  const { profile, format } = await readProfile(path);
  assert.equal(format, "speedscope");
  assert.equal(profile.unit, "nanoseconds");
  assert.equal(profile.meta.producer, json.exporter);
  let seconds = 0;
  for (const p of json.profiles) for (const w of p.weights) seconds += w;
  assert.ok(Math.abs(totalWeight(profile.stacks) - seconds * 1e9) < 1);
  const shared = [...profile.frames].find(([n]) => n.startsWith("shared (prog.py:"));
  assert.ok(shared);
  assert.equal(shared[1].kind, "python");
  assert.match(shared[1].file!, /\/prog\.py$/);
  assert.ok(
    [...profile.stacks.keys()].some((k) =>
      /main \(prog\.py:\d+\);heavy \(prog\.py:\d+\);shared/.test(k)
    ),
  );
  // Sampled profiles in seconds keep their order on the timeline.
  assert.equal(
    profile.timeline!.stacks.length,
    json.profiles.reduce((s: number, p: { samples: unknown[] }) => s + p.samples.length, 0),
  );
});

Deno.test("speedscope: flame's output reads back with the same stacks (sampled)", async () => {
  const { profile } = await readProfile(repoPath("fixtures/folded/c-dwarf.folded"));
  const { json, back } = await roundTrip(profile);
  assert.equal((json.profiles as { type: string }[])[0].type, "sampled");
  assert.deepEqual(new Map([...back.stacks].sort()), new Map([...profile.stacks].sort()));
});

Deno.test("speedscope: a timeline in ns becomes evented profiles, one per thread, totals kept", async () => {
  const p = emptyProfile("nanoseconds", { name: "two threads" });
  p.threads = [{ name: "main", tid: 1 }, { name: "worker", tid: 2 }];
  p.frames.set("f", { kind: "python", file: "/src/app.py", line: 3 });
  addSample(p, "main;f", 10, 0, 0);
  addSample(p, "work", 5, 2, 1);
  addSample(p, "main;f;g", 10, 10, 0);
  addSample(p, "main", 4, 30, 0);
  addSample(p, "work", 5, 40, 1);
  const { json, back } = await roundTrip(p);
  const profiles = json.profiles as { type: string; name: string; events: { at: number }[] }[];
  assert.deepEqual(profiles.map((x) => [x.type, x.name]), [["evented", "main tid 1"], [
    "evented",
    "worker tid 2",
  ]]);
  const frames =
    (json.shared as { frames: { name: string; file?: string; line?: number }[] }).frames;
  assert.deepEqual(frames.find((f) => f.name === "f"), { name: "f", file: "/src/app.py", line: 3 });
  // Read back: one root frame per thread, each stack's weight intact.
  assert.equal(back.stacks.get("main tid 1;main;f"), 10);
  assert.equal(back.stacks.get("main tid 1;main;f;g"), 10);
  assert.equal(back.stacks.get("main tid 1;main"), 4);
  assert.equal(back.stacks.get("worker tid 2;work"), 10);
  assert.equal(totalWeight(back.stacks), totalWeight(p.stacks));
  assert.deepEqual(back.timeline!.times, [0, 2, 10, 30, 40]);
  assert.deepEqual(back.threads?.map((t) => t.name), ["main tid 1", "worker tid 2"]);
});

Deno.test("speedscope: evented input: time between events goes to the open frames", () => {
  const { profile } = speedscopeToProfile({
    shared: { frames: [{ name: "a" }, { name: "b", file: "x.js", line: 2, col: 5 }] },
    profiles: [{
      type: "evented",
      name: "p",
      unit: "milliseconds",
      startValue: 0,
      endValue: 10,
      events: [
        { type: "O", frame: 0, at: 0 },
        { type: "O", frame: 1, at: 2 },
        { type: "C", frame: 1, at: 7 },
        { type: "C", frame: 0, at: 10 },
      ],
    }],
  }, "t");
  assert.deepEqual([...profile.stacks], [["a", 5e6], ["a;b x.js:2:5", 5e6]]);
  assert.equal(profile.frames.get("b x.js:2:5")?.kind, "js");
});

async function readJson(text: string) {
  const input = await formatInputFrom({ name: "p.json", readable: new Blob([text]).stream() });
  return readFormatInput(input);
}

Deno.test("speedscope: JSON that is not speedscope, or is malformed, is one line of error", async () => {
  const frames = { frames: [{ name: "a" }] };
  const schema = "https://www.speedscope.app/file-format-schema.json";
  const cases: [string, string, RegExp][] = [
    ["other JSON", '{"hello": "world"}', /^p\.json: JSON, but not a profile format flame reads/],
    [
      "bad unit",
      JSON.stringify({
        $schema: schema,
        shared: frames,
        profiles: [{ type: "sampled", unit: "parsecs", samples: [], weights: [] }],
      }),
      /unknown unit 'parsecs'/,
    ],
    [
      "frame index",
      JSON.stringify({
        $schema: schema,
        shared: frames,
        profiles: [{ type: "sampled", unit: "none", samples: [[3]], weights: [1] }],
      }),
      /frame index 3 out of range/,
    ],
    [
      "unbalanced",
      JSON.stringify({
        $schema: schema,
        shared: { frames: [{ name: "a" }, { name: "b" }] },
        profiles: [{
          type: "evented",
          unit: "none",
          events: [{ type: "O", frame: 0, at: 0 }, { type: "C", frame: 1, at: 1 }],
        }],
      }),
      /closes 'b', which is not the innermost open frame/,
    ],
    [
      "back in time",
      JSON.stringify({
        $schema: schema,
        shared: frames,
        profiles: [{
          type: "evented",
          unit: "none",
          events: [{ type: "O", frame: 0, at: 5 }, { type: "C", frame: 0, at: 1 }],
        }],
      }),
      /goes back in time/,
    ],
    [
      "lengths",
      JSON.stringify({
        $schema: schema,
        shared: frames,
        profiles: [{ type: "sampled", unit: "none", samples: [[0]], weights: [] }],
      }),
      /1 samples but 0 weights/,
    ],
    ["truncated", `{"$schema": "${schema}", "shared": {"frames": [`, /not valid JSON/],
  ];
  for (const [what, text, message] of cases) {
    await assert.rejects(readJson(text), (err: Error) => {
      assert.ok(err instanceof FlameError, what);
      assert.match(err.message, message, what);
      assert.ok(!err.message.includes("\n"), what);
      return true;
    });
  }
});
