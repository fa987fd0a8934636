/**
 * A client of Grafana Pyroscope's HTTP ingest API: one profile, one POST.
 *
 *   POST {server}/ingest?name=APP{k=v,...}&from=UNIX&until=UNIX&format=folded|pprof
 *        &sampleRate=HZ&spyName=flame&units=...&aggregationType=sum
 *
 * The body is folded text (`a;b;c 100` lines) or a gzipped pprof protobuf; with pprof, the units
 * travel in the profile. Profiles of samples and bytes go as folded text (what Pyroscope's own
 * spies send); time (nanoseconds) and counts go as pprof, which says what its numbers are.
 * Pyroscope has no authentication of its own: hosted and multi-tenant servers take HTTP basic
 * auth or a bearer token, and a tenant in `X-Scope-OrgID`.
 *
 * Nothing here prints or exits: a failed push throws a FlameError with one line (the HTTP status
 * and the server's first line, or the network error). The caller writes its own outputs first,
 * so a failed push loses nothing.
 */
import { FlameError, UsageError } from "../errors.ts";
import { encodeProfile } from "../formats/registry.ts";
import { foldedWriter } from "../formats/folded.ts";
import { pprofWriter } from "../formats/pprof.ts";
import { showable } from "../log.ts";
import { formatBytes } from "../format.ts";
import type { Profile } from "../profile/profile.ts";
import { VERSION } from "../version.ts";

/** How to reach the server and who to be there. */
export interface PyroscopeTarget {
  /** The server's base URL (`http://localhost:4040`, `https://profiles-prod-001.grafana.net`). */
  server: string;
  /** The application name (`my-service`): letters, digits, `.`, `_`, `-`. */
  app: string;
  /** Labels (`env=prod`): names of letters, digits and `_`; values without `{},=`. */
  labels?: Record<string, string>;
  /** HTTP basic auth (Grafana Cloud: the instance id and an access token). */
  basicAuth?: { user: string; password: string };
  /** A bearer token (`Authorization: Bearer ...`). */
  bearerToken?: string;
  /** A tenant for multi-tenant servers (`X-Scope-OrgID`). */
  tenant?: string;
  /** The body's format; by default folded for samples and bytes, pprof for the other units. */
  format?: "folded" | "pprof";
  /** Milliseconds to wait for the server (30 s). */
  timeoutMs?: number;
  /** The fetch to use (tests may pass their own). */
  fetch?: typeof fetch;
  /** The clock, milliseconds since the epoch (tests). */
  now?: () => number;
}

/** What a push sent, and the server's answer. */
export interface PushResult {
  /** The URL posted to (without credentials). */
  url: string;
  format: "folded" | "pprof";
  /** Body bytes sent. */
  bytes: number;
  /** HTTP status (2xx). */
  status: number;
}

const APP_NAME = /^[A-Za-z0-9._\-/]+$/;
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
/** Reserved by Pyroscope (set from the app name). */
const RESERVED_LABELS = new Set(["__name__", "service_name"]);

/** Pyroscope's `name` parameter: `APP{k=v,...}`, labels sorted by name. Checks every part. */
export function ingestName(app: string, labels: Record<string, string> = {}): string {
  if (!APP_NAME.test(app)) {
    throw new UsageError(
      `push: application name '${showable(app)}' is not letters, digits, '.', '_', '-' or '/'`,
    );
  }
  const parts: string[] = [];
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key];
    if (!LABEL_NAME.test(key) || RESERVED_LABELS.has(key)) {
      throw new UsageError(`push: label name '${showable(key)}' is not allowed`);
    }
    if (value === "" || /[{},=\n]/.test(value)) {
      throw new UsageError(
        `push: label ${key}'s value '${showable(value)}' is empty or holds one of { } , =`,
      );
    }
    parts.push(`${key}=${value}`);
  }
  return `${app}{${parts.join(",")}}`;
}

/** Pyroscope's `units` for folded data of a flame unit. */
function foldedUnits(profile: Profile): string {
  return profile.unit === "bytes" ? "bytes" : "samples";
}

/** The ingest URL for `profile` (query parameters as the ingest API documents them). */
export function ingestUrl(
  profile: Profile,
  target: PyroscopeTarget,
  format: "folded" | "pprof",
): URL {
  let base: URL;
  try {
    base = new URL(target.server);
  } catch {
    throw new UsageError(`push: --server '${showable(target.server)}' is not a URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new UsageError(`push: --server must be an http:// or https:// URL`);
  }
  if (base.username || base.password) {
    throw new UsageError(
      "push: credentials in the server URL would show in process lists and logs",
      "use --user with FLAME_PUSH_PASSWORD, or FLAME_PUSH_TOKEN",
    );
  }
  const url = new URL(base.pathname.replace(/\/*$/, "") + "/ingest", base);
  const now = (target.now ?? Date.now)();
  const seconds = Math.max(1, Math.ceil((profile.meta.durationNs ?? 0) / 1e9));
  const from = profile.meta.startMs !== undefined
    ? Math.floor(profile.meta.startMs / 1000)
    : Math.floor(now / 1000) - seconds;
  const q = url.searchParams;
  q.set("name", ingestName(target.app, target.labels));
  q.set("from", String(from));
  q.set("until", String(from + seconds));
  q.set("format", format);
  q.set("spyName", "flame");
  if (format === "folded") {
    q.set("sampleRate", String(Math.round(profile.meta.sampleRate ?? 100)));
    q.set("units", foldedUnits(profile));
    q.set("aggregationType", "sum");
  }
  return url;
}

/** The request headers: content type, auth, tenant. */
export function ingestHeaders(target: PyroscopeTarget, format: "folded" | "pprof"): Headers {
  const headers = new Headers({
    "content-type": format === "pprof" ? "application/octet-stream" : "text/plain; charset=utf-8",
    "user-agent": `flame/${VERSION}`,
  });
  if (target.basicAuth && target.bearerToken) {
    throw new UsageError("push: basic auth and a bearer token: give one of them");
  }
  if (target.basicAuth) {
    const { user, password } = target.basicAuth;
    const bytes = new TextEncoder().encode(`${user}:${password}`);
    headers.set("authorization", `Basic ${btoa(String.fromCharCode(...bytes))}`);
  } else if (target.bearerToken) {
    headers.set("authorization", `Bearer ${target.bearerToken}`);
  }
  if (target.tenant) headers.set("x-scope-orgid", target.tenant);
  return headers;
}

/** What Pyroscope's error statuses mean, for the one line a failure prints. */
const STATUS_HINTS: Record<number, string> = {
  400: "the server rejected the request's parameters",
  401: "not authenticated: check --user with FLAME_PUSH_PASSWORD, or FLAME_PUSH_TOKEN",
  403: "not allowed: check the credentials and --tenant",
  404: "no ingest endpoint there: check --server",
  413: "the profile is larger than the server accepts",
  422: "the server could not ingest the profile",
  429: "rate limited: try again later",
};

/** Sends `profile` to Pyroscope. Throws FlameError (one line) on any failure. */
export async function pushToPyroscope(
  profile: Profile,
  target: PyroscopeTarget,
): Promise<PushResult> {
  if (profile.stacks.size === 0) throw new FlameError("push: the profile has no stacks");
  const format = target.format ??
    (profile.unit === "samples" || profile.unit === "bytes" ? "folded" : "pprof");
  const url = ingestUrl(profile, target, format);
  const headers = ingestHeaders(target, format);
  const { bytes } = await encodeProfile(profile, format === "pprof" ? pprofWriter : foldedWriter);
  const doFetch = target.fetch ?? fetch;
  const shown = `${url.origin}${url.pathname}`;
  let response: Response;
  try {
    response = await doFetch(url, {
      method: "POST",
      headers,
      body: bytes as BodyInit,
      signal: AbortSignal.timeout(target.timeoutMs ?? 30_000),
    });
  } catch (err) {
    const reason = err instanceof DOMException && err.name === "TimeoutError"
      ? `no answer within ${Math.round((target.timeoutMs ?? 30_000) / 1000)} s`
      : networkReason(err);
    throw new FlameError(`push to ${shown} failed: ${reason}`);
  }
  const text = await response.text().catch(() => "");
  if (!response.ok) {
    const first = showable(text.trim().split("\n")[0] ?? "").slice(0, 200);
    const hint = STATUS_HINTS[response.status];
    throw new FlameError(
      `push to ${shown} failed: HTTP ${response.status}${
        first ? `: ${first}` : response.statusText ? ` ${response.statusText}` : ""
      }`,
      1,
      hint ? `${hint} (${formatBytes(bytes.length)} of ${format} sent)` : undefined,
    );
  }
  return { url: shown, format, bytes: bytes.length, status: response.status };
}

function networkReason(err: unknown): string {
  // fetch says "fetch failed"; what failed is in its cause.
  const causes: string[] = [];
  for (let e: unknown = err; e !== undefined && causes.length < 4; e = (e as Error).cause) {
    causes.push(e instanceof Error ? e.message : String(e));
    if (!(e instanceof Error)) break;
  }
  const message = causes.join(": ");
  if (/connection refused/i.test(message)) return "connection refused (is the server running?)";
  if (/dns|lookup|resolve/i.test(message)) return "the server's name does not resolve";
  return (causes[causes.length - 1] ?? message).split("\n")[0];
}
