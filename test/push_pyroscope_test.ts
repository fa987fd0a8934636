/**
 * Pushing to Grafana Pyroscope. Pyroscope cannot be installed here (not in Debian or npm), so a
 * loopback server stands in for it: it implements the ingest contract as Pyroscope documents it
 * (POST /ingest; `name=APP{labels}`, `from`/`until` in Unix seconds, `format` folded or pprof,
 * `sampleRate`, `units`, `aggregationType`; a folded or (gzipped) pprof body; 400 for bad
 * parameters, 413 for a body over its limit, 422 for a body it cannot ingest; basic or bearer
 * auth and the X-Scope-OrgID tenant header where configured) and checks what flame sends.
 */
import assert from "node:assert/strict";
import { Profile as PprofProfile } from "pprof-format";
import { FlameError, UsageError } from "../src/errors.ts";
import { readProfile } from "../src/formats/registry.ts";
import { emptyProfile, type Profile, totalWeight } from "../src/profile/profile.ts";
import { ingestName, pushToPyroscope } from "../src/push/pyroscope.ts";
import { repoPath, runFlame, withTempDir } from "./helpers.ts";

/** What the stand-in server received, parsed as Pyroscope would parse it. */
interface Ingested {
  app: string;
  labels: Record<string, string>;
  params: URLSearchParams;
  headers: Headers;
  /** Stack → value, from the folded or pprof body. */
  stacks: Map<string, number>;
}

interface ServerOptions {
  maxBody?: number;
  /** The smallest sampleRate accepted (a stricter server's parameter check, answered by 400). */
  minSampleRate?: number;
  basic?: string;
  bearer?: string;
  tenant?: string;
}

const NAME = /^([A-Za-z0-9._\-/]+)\{(.*)\}$/;
const UNITS = new Set([
  "samples",
  "objects",
  "goroutines",
  "bytes",
  "lock_samples",
  "lock_nanoseconds",
]);

/** Parses a folded body strictly: `stack count` lines with an integer count. */
function parseFolded(text: string): Map<string, number> | undefined {
  const stacks = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const m = /^(.+) (\d+)$/.exec(line);
    if (!m) return undefined;
    stacks.set(m[1], (stacks.get(m[1]) ?? 0) + Number(m[2]));
  }
  return stacks;
}

/** Parses a pprof body (gzipped or not) into stacks of its first sample type. */
async function parsePprof(body: Uint8Array): Promise<Map<string, number> | undefined> {
  try {
    let bytes = body;
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
      const s = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
      bytes = new Uint8Array(await new Response(s).arrayBuffer());
    }
    const p = PprofProfile.decode(bytes);
    const str = p.stringTable.strings;
    if (str[0] !== "" || p.sampleType.length === 0) return undefined;
    const fn = new Map(p.function.map((f) => [Number(f.id), str[Number(f.name)]]));
    const loc = new Map(
      p.location.map((l) => [Number(l.id), fn.get(Number(l.line[0].functionId))!]),
    );
    const stacks = new Map<string, number>();
    for (const s of p.sample) {
      const key = s.locationId.map((id) => loc.get(Number(id))).reverse().join(";");
      stacks.set(key, (stacks.get(key) ?? 0) + Number(s.value[0]));
    }
    return stacks;
  } catch {
    return undefined;
  }
}

/** Starts the stand-in server; `received` fills with what it accepted. */
function startServer(options: ServerOptions = {}) {
  const received: Ingested[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/ingest") {
      return new Response("not found", { status: 404 });
    }
    const auth = req.headers.get("authorization");
    if (options.basic && auth !== `Basic ${btoa(options.basic)}`) {
      return new Response("unauthorized", { status: 401 });
    }
    if (options.bearer && auth !== `Bearer ${options.bearer}`) {
      return new Response("unauthorized", { status: 401 });
    }
    if (options.tenant && req.headers.get("x-scope-orgid") !== options.tenant) {
      return new Response("no org id", { status: 401 });
    }
    const q = url.searchParams;
    const name = NAME.exec(q.get("name") ?? "");
    if (!name) return new Response("invalid name", { status: 400 });
    const labels: Record<string, string> = {};
    if (name[2] !== "") {
      for (const pair of name[2].split(",")) {
        const [k, v, extra] = pair.split("=");
        if (!k || !v || extra !== undefined) return new Response("invalid labels", { status: 400 });
        labels[k] = v;
      }
    }
    for (const p of ["from", "until"]) {
      if (q.has(p) && !/^\d+$/.test(q.get(p)!)) {
        return new Response(`invalid ${p}`, { status: 400 });
      }
    }
    if (Number(q.get("from")) > Number(q.get("until"))) {
      return new Response("from > until", { status: 400 });
    }
    const format = q.get("format") ?? "folded";
    if (format !== "folded" && format !== "pprof") {
      return new Response("unknown format", { status: 400 });
    }
    if (format === "folded") {
      if (q.has("sampleRate") && !/^[1-9]\d*$/.test(q.get("sampleRate")!)) {
        return new Response("invalid sampleRate", { status: 400 });
      }
      if (
        options.minSampleRate !== undefined && Number(q.get("sampleRate")) < options.minSampleRate
      ) {
        return new Response("invalid sampleRate", { status: 400 });
      }
      if (q.has("units") && !UNITS.has(q.get("units")!)) {
        return new Response("invalid units", { status: 400 });
      }
      if (q.has("aggregationType") && !["sum", "average"].includes(q.get("aggregationType")!)) {
        return new Response("invalid aggregationType", { status: 400 });
      }
    }
    const body = new Uint8Array(await req.arrayBuffer());
    if (options.maxBody !== undefined && body.length > options.maxBody) {
      return new Response("request body too large", { status: 413 });
    }
    const stacks = format === "folded"
      ? parseFolded(new TextDecoder().decode(body))
      : await parsePprof(body);
    if (!stacks || stacks.size === 0) {
      return new Response("unable to parse profile", { status: 422 });
    }
    received.push({ app: name[1], labels, params: q, headers: req.headers, stacks });
    return new Response("");
  });
  const { port } = server.addr as Deno.NetAddr;
  return { url: `http://127.0.0.1:${port}`, received, close: () => server.shutdown() };
}

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
