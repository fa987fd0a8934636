/**
 * A writer that never finishes, for the signal tests: `deno run -A output_signal_harness.ts
 * PATH [--caller]` writes PATH through writeOutput, prints "writing" once its temporary file
 * exists, and keeps writing until a signal comes. With --caller it handles signals itself, as
 * the capture commands do: it removes the temporary files and exits 7.
 */
import { removeTemporaryFiles, signalsHandledByCaller, writeOutput } from "../src/io/output.ts";

const [path, mode] = Deno.args;
if (mode === "--caller") {
  signalsHandledByCaller(true);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      removeTemporaryFiles();
      Deno.exit(7);
    });
  }
}
await writeOutput(path, async (sink) => {
  console.log("writing");
  for (;;) {
    await sink.write("main;work;leaf 1\n".repeat(1000));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
});
