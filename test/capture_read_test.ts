import assert from "node:assert/strict";
import { timeUnit } from "../src/capture/read.ts";
import { userOnly } from "../src/collapse/perf_events.ts";

Deno.test("perf's clock events count nanoseconds; other events keep samples", () => {
  assert.equal(timeUnit(["cpu-clock"]), "nanoseconds");
  assert.equal(timeUnit(["cpu-clock:ppp"]), "nanoseconds");
  assert.equal(timeUnit(["task-clock:u"]), "nanoseconds");
  assert.equal(timeUnit(["cycles:u"]), "samples");
  assert.equal(timeUnit([]), "samples");
  // Several events: the collapser keeps the first one seen, which the header does not say.
  assert.equal(timeUnit(["cpu-clock", "cycles"]), "samples");
  assert.equal(timeUnit(["cpu-clock", "cycles"], "cpu-clock"), "nanoseconds");
  assert.equal(timeUnit(["cpu-clock"], "cycles"), "samples");
});

Deno.test("events recorded without the kernel: a u modifier and no k", () => {
  assert.ok(userOnly(["cpu-clock:u"]));
  assert.ok(userOnly(["cpu-clock:uhppp"]));
  assert.ok(userOnly(["cycles:u", "instructions:u"]));
  assert.ok(!userOnly(["cpu-clock"]));
  assert.ok(!userOnly(["cpu-clock:ppp"]));
  assert.ok(!userOnly(["cycles:uk"]));
  assert.ok(!userOnly(["cycles:u", "cycles"]));
  assert.ok(!userOnly(["sched:sched_switch"]));
  assert.ok(!userOnly([]));
});
