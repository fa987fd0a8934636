import assert from "node:assert/strict";
import { bundleWorker, embeddedWorkerModule } from "../scripts/embed-python-worker.ts";

const BUNDLE = new URL("../src/python/sampler_worker_bundle.ts", import.meta.url);

Deno.test("the embedded Python sampler worker is up to date (run scripts/embed-python-worker.ts)", async () => {
  assert.equal(
    await Deno.readTextFile(BUNDLE),
    await embeddedWorkerModule(await bundleWorker()),
    "src/python/sampler_worker_bundle.ts is stale: run deno run -A scripts/embed-python-worker.ts",
  );
});

const gcc = (() => {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
const pyenv = (() => {
  try {
    return new Deno.Command("pyenv", { args: ["root"], stdout: "null" }).outputSync().success;
  } catch {
    return false;
  }
})();
const noGenerator = !gcc ? "gcc is not installed" : !pyenv ? "pyenv is not installed" : undefined;

Deno.test({
  name: "src/python/layouts.ts matches the installed CPythons' headers" +
    (noGenerator ? ` (ignored: ${noGenerator})` : ""),
  ignore: noGenerator !== undefined,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "scripts/python-offsets/generate.ts", "--check"],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
  },
});
