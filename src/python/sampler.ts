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

/**
 * Starts sampling `options.pids` in a worker. Attach errors (not Python, refused, ...) reject
 * `result` with the FlameError the reader threw. Warns when the sampler fell behind its rate.
 */
export function startSampler(
  options: SamplingOptions,
  { code = defaultCode() }: { code?: WorkerCode } = {},
): SamplerHandle {
  const stop = new SharedArrayBuffer(4);
  const flag = new Int32Array(stop);
  const { url, revoke } = workerUrl(code);
  const worker = new Worker(url, { type: "module", name: "flame-python-sampler" });
  const result = new Promise<SamplingResult>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      worker.terminate();
      if (revoke) URL.revokeObjectURL(url);
      const reply = e.data;
      if (reply.ok) {
        const r = reply.result;
        if (r.fellBehind) {
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
      worker.terminate();
      if (revoke) URL.revokeObjectURL(url);
      reject(new Error(`the Python sampler failed: ${e.message}`));
    };
  });
  const request: WorkerRequest = { options, stop };
  worker.postMessage(request);
  return {
    stop() {
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    },
    result,
  };
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
