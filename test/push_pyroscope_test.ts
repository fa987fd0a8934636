/**
 * Pushing to Grafana Pyroscope, against the loopback stand-in of pyroscope_server.ts (Pyroscope
 * cannot be installed here): what flame sends, and how it fails.
 */
import assert from "node:assert/strict";
import { FlameError, UsageError } from "../src/errors.ts";
import { readProfile } from "../src/formats/registry.ts";
import { emptyProfile, type Profile, totalWeight } from "../src/profile/profile.ts";
import { ingestName, pushToPyroscope } from "../src/push/pyroscope.ts";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";
import { startServer } from "./pyroscope_server.ts";

function samplesProfile(): Profile {
  const p = emptyProfile("samples", {
    sampleRate: 99,
    startMs: 1_700_000_000_500,
    durationNs: 2.5e9,
  });
  p.stacks.set("main;work", 30);
  p.stacks.set("main", 12);
  return p;
}

Deno.test("push: folded body and the ingest parameters Pyroscope reads", async () => {
  const s = startServer();
  try {
    const result = await pushToPyroscope(samplesProfile(), {
      server: s.url + "/",
      app: "checkout.api",
      labels: { region: "eu", env: "dev" },
    });
    assert.equal(result.status, 200);
    assert.equal(result.format, "folded");
    const [got] = s.received;
    assert.equal(got.app, "checkout.api");
    assert.deepEqual(got.labels, { env: "dev", region: "eu" });
    assert.equal(got.params.get("name"), "checkout.api{env=dev,region=eu}");
    assert.equal(got.params.get("from"), "1700000000");
    assert.equal(got.params.get("until"), "1700000003");
    assert.equal(got.params.get("sampleRate"), "99");
    assert.equal(got.params.get("units"), "samples");
    assert.equal(got.params.get("aggregationType"), "sum");
    assert.equal(got.params.get("spyName"), "flame");
    assert.deepEqual(got.stacks, new Map([["main", 12], ["main;work", 30]]));
  } finally {
    await s.close();
  }
});

Deno.test("push: time profiles go as pprof with their totals (a real cProfile file)", async () => {
  const s = startServer();
  try {
    const { profile } = await readProfile(repoPath("fixtures/formats/cprofile-py313.prof"));
    const result = await pushToPyroscope(profile, { server: s.url, app: "batch" });
    assert.equal(result.format, "pprof");
    const [got] = s.received;
    assert.equal(got.params.get("format"), "pprof");
    assert.equal(got.params.get("units"), null); // pprof says its units itself
    let sum = 0;
    for (const w of got.stacks.values()) sum += w;
    assert.equal(sum, totalWeight(profile.stacks));
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(Number(got.params.get("until")) - now) <= 5);
  } finally {
    await s.close();
  }
});

Deno.test("push: basic auth, bearer token and tenant header", async () => {
  const basic = startServer({ basic: "123456:s3cr:et", tenant: "team-a" });
  const bearer = startServer({ bearer: "tok-en" });
  try {
    await pushToPyroscope(samplesProfile(), {
      server: basic.url,
      app: "a",
      basicAuth: { user: "123456", password: "s3cr:et" },
      tenant: "team-a",
    });
    assert.equal(basic.received.length, 1);
    await assert.rejects(
      pushToPyroscope(samplesProfile(), { server: basic.url, app: "a", tenant: "team-a" }),
      (err: Error) => err instanceof FlameError && /HTTP 401: unauthorized/.test(err.message),
    );
    await pushToPyroscope(samplesProfile(), {
      server: bearer.url,
      app: "a",
      bearerToken: "tok-en",
    });
    assert.equal(bearer.received.length, 1);
  } finally {
    await basic.close();
    await bearer.close();
  }
});

Deno.test("push: 400, 413, 422 and no server are one line each, with a hint", async () => {
  const s = startServer({ maxBody: 20 });
  try {
    const big = samplesProfile();
    for (let i = 0; i < 50; i++) big.stacks.set(`main;f${i}`, 1);
    await assert.rejects(pushToPyroscope(big, { server: s.url, app: "a" }), (err: Error) => {
      assert.ok(err instanceof FlameError);
      assert.match(
        err.message,
        /^push to http:\/\/127\.0\.0\.1:\d+\/ingest failed: HTTP 413: request body too large$/,
      );
      assert.match(err.hint!, /larger than the server accepts/);
      return true;
    });
    // A body the server cannot parse: integer counts only.
    const fractional = emptyProfile("samples");
    fractional.stacks.set("a", 0.5);
    await assert.rejects(
      pushToPyroscope(fractional, { server: s.url, app: "a" }),
      (err: Error) =>
        err instanceof FlameError && /HTTP 422: unable to parse profile/.test(err.message),
    );
    const strict = startServer({ minSampleRate: 1000 });
    await assert.rejects(
      pushToPyroscope(samplesProfile(), { server: strict.url, app: "a" }),
      (err: Error) =>
        err instanceof FlameError && /HTTP 400: invalid sampleRate$/.test(err.message) &&
        /rejected the request's parameters/.test(err.hint!),
    );
    await strict.close();
    await assert.rejects(
      pushToPyroscope(samplesProfile(), { server: s.url + "/nothing-here", app: "a" }),
      (err: Error) =>
        err instanceof FlameError && /HTTP 404/.test(err.message) &&
        /check --server/.test(err.hint!),
    );
  } finally {
    await s.close();
  }
  // The server is gone: connection refused.
  await assert.rejects(
    pushToPyroscope(samplesProfile(), { server: s.url, app: "a", timeoutMs: 5000 }),
    (err: Error) =>
      err instanceof FlameError && /failed: connection refused/.test(err.message) &&
      !err.message.includes("\n"),
  );
});

Deno.test("push: names, labels and URLs are checked before anything is sent", () => {
  assert.equal(ingestName("app", {}), "app{}");
  assert.throws(() => ingestName("my app"), UsageError);
  assert.throws(() => ingestName("app", { "1x": "v" }), UsageError);
  assert.throws(() => ingestName("app", { k: "a,b" }), UsageError);
  assert.throws(() => ingestName("app", { __name__: "x" }), UsageError);
  return assert.rejects(
    pushToPyroscope(samplesProfile(), { server: "http://user:pw@127.0.0.1:1", app: "a" }),
    /credentials in the server URL/,
  );
});

Deno.test("flame push: a file to the server, the password from the environment", async () => {
  const s = startServer({ basic: "me:pw" });
  try {
    const file = repoPath("fixtures/folded/simple.folded");
    const r = await runFlame(
      ["push", "--server", s.url, "--app", "cli", "--label", "env=ci", "--user", "me", file],
      { env: { FLAME_PUSH_PASSWORD: "pw" } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^flame: pushed \S+ \S+ \(folded\) to http:\/\/127\.0\.0\.1:\d+\/ingest: HTTP 200\n$/,
    );
    assert.equal(s.received[0].params.get("name"), "cli{env=ci}");
    assert.equal(s.received[0].stacks.size, 8);
    // No password in the environment: a usage error before anything is sent.
    const nopw = await runFlame(["push", "--server", s.url, "--app", "cli", "--user", "me", file]);
    assert.equal(nopw.code, 2);
    assert.match(nopw.stderr, /--user needs the password in \$FLAME_PUSH_PASSWORD/);
    assert.equal(s.received.length, 1);
  } finally {
    await s.close();
  }
});

Deno.test("flame push: a failed push is one line, exit 1, the file untouched", async () => {
  await withTempDir(async (dir) => {
    const s = startServer({ maxBody: 10 });
    try {
      const file = `${dir}/p.folded`;
      Deno.copyFileSync(repoPath("fixtures/folded/simple.folded"), file);
      const before = Deno.readFileSync(file);
      const r = await runFlame(["push", "--server", s.url, "--app", "cli", file]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^flame: error: push to \S+ failed: HTTP 413: request body too large\n {2}hint: /,
      );
      assert.deepEqual(Deno.readFileSync(file), before);
    } finally {
      await s.close();
    }
  });
});
