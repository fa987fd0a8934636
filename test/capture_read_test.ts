import assert from "node:assert/strict";
import { userOnly } from "../src/collapse/perf_events.ts";

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
