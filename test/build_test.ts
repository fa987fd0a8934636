import assert from "node:assert/strict";
import { repoPath } from "./helpers.ts";

// `make build` must always leave a dist/flame that runs: a compiled binary where Deno's compile
// runtime is available, a launcher over the bundle where it is not.
Deno.test({
  name: "make build writes a dist/flame that runs the same CLI",
  sanitizeResources: false,
  async fn() {
    const build = await new Deno.Command("make", {
      args: ["-s", "build"],
      cwd: repoPath("."),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const buildLog = new TextDecoder().decode(build.stderr);
    assert.equal(build.code, 0, buildLog);
    assert.match(buildLog, /build: wrote dist\/flame/);
    const flame = repoPath("dist/flame");
    const version = await new Deno.Command(flame, { args: ["--version"], stdout: "piped" })
      .output();
    assert.equal(version.code, 0);
    assert.match(new TextDecoder().decode(version.stdout), /^flame \d+\.\d+\.\d+\n$/);
    const unknown = await new Deno.Command(flame, { args: ["nope"], stderr: "piped" }).output();
    assert.equal(unknown.code, 2);
    assert.match(new TextDecoder().decode(unknown.stderr), /unknown command 'nope'/);
  },
});
