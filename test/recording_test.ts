import assert from "node:assert/strict";
import { countNameFor } from "../src/cli/recording.ts";

Deno.test("perf's clock events count nanoseconds; other events keep samples", () => {
  assert.equal(countNameFor(["cpu-clock"]), "ns");
  assert.equal(countNameFor(["cpu-clock:ppp"]), "ns");
  assert.equal(countNameFor(["task-clock:u"]), "ns");
  assert.equal(countNameFor(["cycles:u"]), undefined);
  assert.equal(countNameFor([]), undefined);
  // Several events: the collapser keeps the first one seen, which the header does not say.
  assert.equal(countNameFor(["cpu-clock", "cycles"]), undefined);
  assert.equal(countNameFor(["cpu-clock", "cycles"], "cpu-clock"), "ns");
  assert.equal(countNameFor(["cpu-clock"], "cycles"), undefined);
});
