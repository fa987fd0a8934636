import assert from "node:assert/strict";
import { samplePython } from "../src/python/sampler.ts";
import { pythons, startFixture } from "./python_helpers.ts";

// shares.py spends 50% / 30% / 20% of its time in fifty() / thirty() / twenty(), timed against
// the clock. Sampled at 500 Hz for 2 s (about 1,000 samples: one standard error is under
// 1.6 points), each share must come out within 3 points.
const EXPECTED = { fifty: 50, thirty: 30, twenty: 20 };

for (const python of pythons()) {
  Deno.test({
    name: `python sampler ${python.label}: time shares within 3 points of 50/30/20` +
      (python.missing ? ` (ignored: ${python.missing})` : ""),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "shares.py");
      try {
        const r = await samplePython({ pids: [program.pid], rate: 500, durationMs: 2000 });
        const counts = new Map<string, number>();
        let total = 0;
        for (const s of r.samples) {
          const names = r.stacks[s.stack].map((i) => r.frames[i].name);
          const owner = names.find((n) => n in EXPECTED);
          if (!owner) continue;
          counts.set(owner, (counts.get(owner) ?? 0) + 1);
          total++;
        }
        assert.ok(total >= 500, `${total} samples in the three functions`);
        for (const [name, share] of Object.entries(EXPECTED)) {
          const measured = (100 * (counts.get(name) ?? 0)) / total;
          assert.ok(
            Math.abs(measured - share) <= 3,
            `${name}: ${measured.toFixed(1)}% measured, ${share}% expected (${total} samples)`,
          );
        }
      } finally {
        await program.stop();
      }
    },
  });
}
