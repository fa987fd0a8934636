/**
 * Samples Python processes from a Web Worker, so the calling thread stays free (to run perf,
 * draw progress, handle Ctrl-C). `startSampler` returns at once with a handle to stop it and
 * the result to await; `samplePython` is the one-call form.
 *
 * Running from source the worker is sampler_worker.ts; in the bundled dist/flame it is the
 * same code embedded by scripts/embed-python-worker.ts (sampler_worker_bundle.ts).
 */
import { FlameError } from "../errors.ts";
import { warn } from "../log.ts";
import type { SamplingOptions, SamplingResult } from "./sampling.ts";
import type { WorkerReply, WorkerRequest } from "./sampler_worker.ts";
import { SAMPLER_WORKER_SOURCE } from "./sampler_worker_bundle.ts";

/** A sampler running in the background. */
export interface SamplerHandle {
  /** Asks the sampler to stop after its current tick; `result` then settles. */
  stop(): void;
  /** The samples, once the duration ended, `stop()` was called, or every process exited. */
  result: Promise<SamplingResult>;
}

/** Which worker code to run: the source module, or the bundle embedded for dist/flame. */
export type WorkerCode = "source" | "embedded";

function workerUrl(code: WorkerCode): { url: string; revoke: boolean } {
  if (code === "source") {
    return { url: new URL("./sampler_worker.ts", import.meta.url).href, revoke: false };
  }
  const blob = new Blob([SAMPLER_WORKER_SOURCE], { type: "application/javascript" });
  return { url: URL.createObjectURL(blob), revoke: true };
}

/** Source when this module runs from its .ts file, else the embedded bundle. */
function defaultCode(): WorkerCode {
  return import.meta.url.endsWith("/src/python/sampler.ts") ? "source" : "embedded";
}

/** A sampler whose worker is loaded and waits to be told what to sample. */
export interface PreparedSampler {
  /** Starts sampling (once); the worker is ready, so the first tick comes at once. */
  start(options: SamplingOptions): SamplerHandle;
  /** Ends the worker unused. */
  discard(): void;
}

/**
 * Loads the sampler's worker ahead of time: loading its code takes tens of milliseconds (a
 * second from source), which a program that is about to start would spend unsampled.
 */
export function prepareSampler(
  { code = defaultCode() }: { code?: WorkerCode } = {},
): PreparedSampler {
  const { url, revoke } = workerUrl(code);
  const worker = new Worker(url, { type: "module", name: "flame-python-sampler" });
  const end = () => {
    worker.terminate();
    if (revoke) URL.revokeObjectURL(url);
  };
  let started = false;
  return {
    discard: () => {
      if (!started) end();
    },
    start(options) {
      if (started) throw new Error("a prepared sampler starts once");
      started = true;
      const stop = new SharedArrayBuffer(4);
      const flag = new Int32Array(stop);
      const result = new Promise<SamplingResult>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<WorkerReply>) => {
          end();
          const reply = e.data;
          if (reply.ok) {
            const r = reply.result;
            if (r.fellBehind && !options.quietWhenBehind) {
              warn(
                `the Python sampler fell behind: ${r.missedTicks} of ${r.missedTicks + r.ticks} ` +
                  `ticks at ${r.rate} Hz were skipped (try a lower rate)`,
              );
            }
            resolve(r);
          } else if (reply.error.flame) {
            reject(new FlameError(reply.error.message, reply.error.exitCode, reply.error.hint));
          } else {
            reject(new Error(`the Python sampler failed: ${reply.error.message}`));
          }
        };
        worker.onerror = (e) => {
          e.preventDefault();
          end();
          reject(new Error(`the Python sampler failed: ${e.message}`));
        };
      });
      // A caller may await the result only once it stops the sampler: an early failure
      // (refused, not Python) must not count as unhandled meanwhile.
      result.catch(() => {});
      const request: WorkerRequest = { options, stop };
      worker.postMessage(request);
      return {
        stop() {
          Atomics.store(flag, 0, 1);
          Atomics.notify(flag, 0);
        },
        result,
      };
    },
  };
}

/**
 * Starts sampling `options.pids` in a worker. Attach errors (not Python, refused, ...) reject
 * `result` with the FlameError the reader threw. Warns when the sampler fell behind its rate.
 */
export function startSampler(
  options: SamplingOptions,
  worker: { code?: WorkerCode } = {},
): SamplerHandle {
  return prepareSampler(worker).start(options);
}

/** Samples until the duration ends, `signal` aborts, or every process exits. */
export function samplePython(
  options: SamplingOptions & { signal?: AbortSignal },
  worker: { code?: WorkerCode } = {},
): Promise<SamplingResult> {
  const { signal, ...rest } = options;
  const handle = startSampler(rest, worker);
  if (signal) {
    if (signal.aborted) handle.stop();
    else signal.addEventListener("abort", () => handle.stop(), { once: true });
  }
  return handle.result;
}
