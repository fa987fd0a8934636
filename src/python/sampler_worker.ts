/**
 * The sampler's Web Worker: runs the sampling loop (sampling.ts) off the caller's thread and
 * posts the result back. Bundled into sampler_worker_bundle.ts for dist/flame.
 */
import { FlameError } from "../errors.ts";
import { runSampling, type SamplingOptions } from "./sampling.ts";

/** What the sampler sends: the options and the shared stop flag. */
export interface WorkerRequest {
  options: SamplingOptions;
  stop: SharedArrayBuffer;
}

/** What the worker answers. */
export type WorkerReply =
  | { ok: true; result: ReturnType<typeof runSampling> }
  | { ok: false; error: { flame: boolean; message: string; exitCode: number; hint?: string } };

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply): void;
  close(): void;
};

scope.onmessage = (e) => {
  let reply: WorkerReply;
  try {
    reply = { ok: true, result: runSampling(e.data.options, new Int32Array(e.data.stop)) };
  } catch (err) {
    reply = {
      ok: false,
      error: err instanceof FlameError
        ? { flame: true, message: err.message, exitCode: err.exitCode, hint: err.hint }
        : {
          flame: false,
          message: err instanceof Error ? err.stack ?? err.message : String(err),
          exitCode: 1,
        },
    };
  }
  scope.postMessage(reply);
  scope.close();
};
