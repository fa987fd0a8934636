/**
 * CLOCK_MONOTONIC in nanoseconds, through `clock_gettime(2)` by FFI: the clock
 * `perf record -k CLOCK_MONOTONIC` stamps its samples with, so the reader's samples and perf's
 * can be put side by side. Where FFI is not allowed, `performance.now()` anchored once to
 * `/proc/uptime` is a rougher stand-in.
 */

import { libc } from "./libc.ts";

const CLOCK_MONOTONIC = 1;
const timespec = new BigInt64Array(2);
const timespecBytes = new Uint8Array(timespec.buffer);

let fallbackOrigin: number | undefined;

/** Nanoseconds on CLOCK_MONOTONIC. */
export function monotonicNs(): number {
  const lib = libc();
  if (lib) {
    lib.clock_gettime(CLOCK_MONOTONIC, timespecBytes);
    return Number(timespec[0]) * 1e9 + Number(timespec[1]);
  }
  if (fallbackOrigin === undefined) {
    const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
    fallbackOrigin = uptime * 1e9 - performance.now() * 1e6;
  }
  return fallbackOrigin + performance.now() * 1e6;
}
