/**
 * flame's CPython stack reader: the entry points other parts of flame call.
 *
 * - `discoverPython(pid)` + `new PythonReader(target)`: read every thread's stack once.
 * - `dumpProcess(pid)` / `formatDump`: what `flame dump` prints.
 * - `startSampler(options)` / `samplePython(options)`: sample at a steady rate in a worker.
 * - `samplingToProfile(result, options)`: the samples as a flame profile.
 * - `samplesForSplice(result)`: the samples as capture/splice.ts's `Splicer` takes them.
 * - `pythonFrameLabel`, `uniqueFrameNames`: the naming rule for Python frames.
 * - `monotonicNs()`: CLOCK_MONOTONIC, the clock sample times are on (as perf's `-k 1`).
 * - `childPids(pid)`: a process's children, from /proc.
 */
export {
  discoverPython,
  NotPythonError,
  type PythonTarget,
  type PythonVersion,
} from "./discover.ts";
export { type PyFrame, PythonReader, type PyThread, type ReadOptions } from "./reader.ts";
export { dumpProcess, formatDump, type ProcessDump } from "./dump.ts";
export {
  type PreparedSampler,
  prepareSampler,
  samplePython,
  type SamplerHandle,
  startSampler,
} from "./sampler.ts";
export {
  type Sample,
  type SampledProcess,
  type SampledThread,
  type SamplingOptions,
  type SamplingResult,
  tickPeriodNs,
} from "./sampling.ts";
export { type PythonProfileOptions, samplingToProfile } from "./profile.ts";
export { pythonFrameLabel, shortFileName, uniqueFrameNames } from "./names.ts";
export { samplesForSplice, type SpliceFrame, type SpliceSamples } from "./splice_input.ts";
export { monotonicNs } from "./clock.ts";
export { childPids } from "./children.ts";
