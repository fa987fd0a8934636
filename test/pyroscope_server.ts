/**
 * A stand-in for Grafana Pyroscope's ingest API, for tests. Pyroscope cannot be installed here
 * (not in Debian or npm), so this loopback server implements the ingest contract as Pyroscope
 * documents it (POST /ingest; `name=APP{labels}`, `from`/`until` in Unix seconds, `format` folded
 * or pprof, `sampleRate`, `units`, `aggregationType`; a folded or (gzipped) pprof body; 400 for
 * bad parameters, 413 for a body over its limit, 422 for a body it cannot ingest; basic or bearer
 * auth and the X-Scope-OrgID tenant header where configured) and records what it accepted.
 */
import { Profile as PprofProfile } from "pprof-format";

/** What the stand-in server received, parsed as Pyroscope would parse it. */
export interface Ingested {
  app: string;
  labels: Record<string, string>;
  params: URLSearchParams;
  headers: Headers;
  /** Stack → value, from the folded or pprof body. */
  stacks: Map<string, number>;
}

export interface ServerOptions {
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
export function startServer(options: ServerOptions = {}) {
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
