/**
 * pprof: flame's output read by the real `go tool pprof` with the folded totals, round trips
 * (gzipped and raw), sample types from units, and protobufs or gzips that are not profiles.
 */
import assert from "node:assert/strict";
import { Profile as PprofProfile } from "pprof-format";
import { FlameError } from "../src/errors.ts";
import { formatInputFrom } from "../src/formats/input.ts";
import { encodePprof, gzip, pprofToProfile } from "../src/formats/pprof.ts";
import {
  encodeProfile,
  readFormatInput,
  readProfile,
  writeProfile,
  writerByName,
} from "../src/formats/registry.ts";
import { emptyProfile, type Profile, totalWeight } from "../src/profile/profile.ts";
import { repoPath, withTempDir } from "./helpers.ts";

function goMissing(): string | undefined {
  try {
    new Deno.Command("go", { args: ["version"], stdout: "null", stderr: "null" }).outputSync();
    return undefined;
  } catch {
    return "go is not installed (Debian golang-go; scripts/system-deps.sh installs it)";
  }
}
const noGo = goMissing();

async function readBytes(bytes: Uint8Array, name = "p.pb.gz") {
  const input = await formatInputFrom({ name, readable: new Blob([bytes as BlobPart]).stream() });
  return readFormatInput(input);
}

async function goPprof(args: string[]): Promise<string> {
  const out = await new Deno.Command("go", {
    args: ["tool", "pprof", ...args],
    stdout: "piped",
    stderr: "piped",
    env: { HOME: Deno.env.get("HOME") ?? "/tmp", PPROF_TMPDIR: "/tmp" },
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return text;
}

for (
  const fixture of [
    "folded/c-dwarf.folded",
    "formats/node.cpuprofile",
    "formats/cprofile-py313.prof",
  ]
) {
  Deno.test({
    name: `pprof: go tool pprof reads flame's pprof of ${fixture} with the same totals${
      noGo ? ` (ignored: ${noGo})` : ""
    }`,
    ignore: noGo !== undefined,
    async fn() {
      await withTempDir(async (dir) => {
        const { profile } = await readProfile(repoPath(`fixtures/${fixture}`));
        const file = `${dir}/out.pb.gz`;
        await writeProfile(file, profile, writerByName("pprof"));
        // -raw lists every sample: the sum of its values is the profile's total.
        const raw = await goPprof(["-raw", file]);
        let sum = 0;
        let samples = 0;
        const body = raw.slice(raw.indexOf("Samples:"), raw.indexOf("Locations"));
        for (const m of body.matchAll(/^\s+(\d+): \d/gm)) {
          sum += Number(m[1]);
          samples++;
        }
        assert.equal(samples, profile.stacks.size);
        assert.equal(sum, Math.round(totalWeight(profile.stacks)));
        // -top's header states the total in the sample type's unit.
        const top = await goPprof(["-top", "-nodecount=5", file]);
        const unit = profile.unit === "nanoseconds"
          ? /of (\d+(?:\.\d+)?)(ms|s|us|ns) total/
          : /of (\d+) total/;
        const m = unit.exec(top);
        assert.ok(m, top);
        const scale: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };
        const total = Number(m[1]) * (m[2] ? scale[m[2]] : 1);
        assert.ok(
          Math.abs(total - totalWeight(profile.stacks)) <= totalWeight(profile.stacks) * 0.001,
          top,
        );
      });
    },
  });
}

Deno.test("pprof: sample types, functions with file and line, time and period", () => {
  const cases: [Profile["unit"], string, string][] = [
    ["samples", "samples", "count"],
    ["nanoseconds", "cpu", "nanoseconds"],
    ["bytes", "space", "bytes"],
  ];
  for (const [unit, type, typeUnit] of cases) {
    const p = emptyProfile(unit, { startMs: 1_700_000_000_000, durationNs: 2e9, sampleRate: 99 });
    p.stacks.set("main;work", 7);
    p.frames.set("work", { kind: "python", file: "/app/work.py", line: 12 });
    const decoded = PprofProfile.decode(encodePprof(p).bytes);
    const s = decoded.stringTable.strings;
    assert.equal(s[Number(decoded.sampleType[0].type)], type);
    assert.equal(s[Number(decoded.sampleType[0].unit)], typeUnit);
    const work = decoded.function.find((f) => s[Number(f.name)] === "work")!;
    assert.equal(s[Number(work.filename)], "/app/work.py");
    assert.equal(Number(work.startLine), 12);
    assert.equal(Number(decoded.timeNanos), 1_700_000_000_000 * 1e6);
    assert.equal(Number(decoded.durationNanos), 2e9);
    if (unit === "samples") {
      assert.equal(s[Number(decoded.periodType!.type)], "cpu");
      assert.equal(Number(decoded.period), Math.round(1e9 / 99));
    }
    // Leaf first: work, then main.
    const ids = decoded.sample[0].locationId.map(Number);
    const names = ids.map((id) => s[Number(decoded.function[id - 1].name)]);
    assert.deepEqual(names, ["work", "main"]);
    const back = pprofToProfile(decoded, "x").profile;
    assert.equal(back.unit, unit);
    assert.deepEqual([...back.stacks], [["main;work", 7]]);
    assert.equal(back.frames.get("work")?.file, "/app/work.py");
    assert.equal(back.meta.sampleRate, unit === "samples" ? 99 : undefined);
  }
});

Deno.test("pprof: gzipped and raw files read alike, with threads from labels", async () => {
  const p = emptyProfile("samples");
  p.threads = [{ name: "main" }, { name: "io" }];
  p.timeline = {
    stacks: ["a;b", "a", "a;b"],
    weights: [1, 2, 3],
    times: [0, 1, 2],
    threads: [0, 1, 0],
  };
  for (const [k, w] of [["a;b", 4], ["a", 2]] as const) p.stacks.set(k, w);
  const raw = encodePprof(p).bytes;
  for (const bytes of [raw, await gzip(raw)]) {
    const { profile, format } = await readBytes(bytes);
    assert.equal(format, "pprof");
    assert.deepEqual(new Map([...profile.stacks].sort()), new Map([["a", 2], ["a;b", 4]]));
    assert.deepEqual(profile.threads?.map((t) => t.name), ["main", "io"]);
  }
});

Deno.test("pprof: inlined lines become frames; unsymbolized locations show module and address", () => {
  const s = ["", "samples", "count", "outer", "inlined", "/bin/app"];
  const decoded = new PprofProfile({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [{ locationId: [1, 2], value: [5] }],
    mapping: [{ id: 1, filename: 5 }],
    location: [
      { id: 1, line: [{ functionId: 2 }, { functionId: 1 }] },
      { id: 2, mappingId: 1, address: 0x4010 },
    ],
    function: [{ id: 1, name: 3 }, { id: 2, name: 4 }],
  });
  decoded.stringTable.strings.splice(0, Infinity, ...s);
  const { profile } = pprofToProfile(decoded, "x");
  assert.deepEqual([...profile.stacks], [["[app 0x4010];outer;inlined", 5]]);
});

Deno.test("pprof: protobufs and gzips that are not profiles are one line of error", async () => {
  const good = (await encodeProfile(
    (await readProfile(repoPath("fixtures/folded/simple.folded"))).profile,
    writerByName("pprof"),
  )).bytes;
  const bad = (mutate: (p: PprofProfile) => void) => {
    const p = PprofProfile.decode(
      encodePprof((() => {
        const x = emptyProfile("samples");
        x.stacks.set("a;b", 1);
        return x;
      })()).bytes,
    );
    mutate(p);
    return p.encode();
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["truncated gzip", good.subarray(0, good.length - 20), /not a complete gzip file/],
    ["string index", bad((p) => p.function[0].name = 999), /string index 999 out of range/],
    ["sample values", bad((p) => p.sample[0].value = [1, 2]), /2 values for 1 sample types/],
    ["location", bad((p) => p.sample[0].locationId = [77]), /unknown location 77/],
    ["function id", bad((p) => p.function[1].id = p.function[0].id), /zero or repeated/],
    ["wire type", new Uint8Array([0x0a, 0x02, 0x08, 0x01, 0x0b, 0x0c]), /not a pprof profile/],
  ];
  for (const [what, bytes, message] of cases) {
    await assert.rejects(readBytes(bytes), (err: Error) => {
      assert.ok(err instanceof FlameError, `${what}: ${err}`);
      assert.match(err.message, /^p\.pb\.gz: /, what);
      assert.match(err.message, message, what);
      assert.ok(!err.message.includes("\n"), what);
      return true;
    });
  }
});

Deno.test("pprof: a gzip bomb stops at the byte limit", async () => {
  const zeros = new Uint8Array(8 * 1024 * 1024);
  zeros[0] = 0x0a; // looks like a pprof start
  zeros[1] = 0x02;
  zeros[2] = 0x08;
  const bomb = await gzip(zeros);
  const input = await formatInputFrom({
    name: "bomb.pb.gz",
    readable: new Blob([bomb as BlobPart]).stream(),
  });
  await assert.rejects(readFormatInput(input, { maxBytes: 1024 * 1024 }), /larger than 1.00 MiB/);
});
