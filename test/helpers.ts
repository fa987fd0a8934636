/**
 * Shared test helpers: run `dist/flame` as users get it (built here when the sources are newer),
 * make temp dirs.
 */

const ROOT = new URL("../", import.meta.url);

/** Absolute path of a file in the repository. */
export function repoPath(relative: string): string {
  return new URL(relative, ROOT).pathname;
}

/** What a finished flame process left behind. */
export interface FlameResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Files whose change makes dist/flame stale. */
const BUILD_INPUTS = ["main.ts", "deno.json", "src", "scripts/build.sh", "scripts/launcher.sh"];

function newestMtime(path: string): number {
  const info = Deno.statSync(path);
  if (!info.isDirectory) return info.mtime?.getTime() ?? 0;
  let newest = 0;
  for (const entry of Deno.readDirSync(path)) {
    newest = Math.max(newest, newestMtime(`${path}/${entry.name}`));
  }
  return newest;
}

let built: Promise<string> | undefined;

/**
 * The path of `dist/flame`, the file users run. `make build` runs first when it is missing or
 * older than its sources, so a test never runs a stale binary.
 */
export function flameBinary(): Promise<string> {
  built ??= (async () => {
    const bin = repoPath("dist/flame");
    let binTime = -1;
    try {
      binTime = Deno.statSync(bin).mtime?.getTime() ?? -1;
    } catch { /* not built yet */ }
    const sources = Math.max(...BUILD_INPUTS.map((p) => newestMtime(repoPath(p))));
    if (binTime >= sources) return bin;
    const out = await new Deno.Command("make", {
      args: ["-s", "build"],
      cwd: repoPath("."),
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`make build failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    return bin;
  })();
  return built;
}

/** `dist/flame ARGS` as an argv, for tests that start it their own way. */
export async function flameArgv(args: string[]): Promise<string[]> {
  return [await flameBinary(), ...args];
}

/** Runs `dist/flame ARGS` with optional stdin, in `cwd`. */
export async function runFlame(
  args: string[],
  { stdin, cwd, env }: { stdin?: string | Uint8Array; cwd?: string; env?: Record<string, string> } =
    {},
): Promise<FlameResult> {
  const child = new Deno.Command(await flameBinary(), {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    cwd,
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
  }).spawn();
  if (stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(typeof stdin === "string" ? new TextEncoder().encode(stdin) : stdin);
    await writer.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/**
 * Kills every process whose command line or executable names `dir`: what a test started there
 * and left running when it failed half-way (a program spinning for ever would load the machine
 * for the rest of the run).
 */
export function killProcessesIn(dir: string): void {
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name) || Number(entry.name) === Deno.pid) continue;
    try {
      const cmdline = Deno.readTextFileSync(`/proc/${entry.name}/cmdline`);
      let exe = "";
      try {
        exe = Deno.readLinkSync(`/proc/${entry.name}/exe`);
      } catch { /* a kernel thread, or not ours */ }
      if (cmdline.includes(dir) || exe.startsWith(dir)) Deno.kill(Number(entry.name), "SIGKILL");
    } catch { /* gone already */ }
  }
}

/**
 * Makes a temp dir (its real path, so messages that name files match), runs `fn` in it, removes
 * it (and stops what was left running there).
 */
export async function withTempDir<T>(fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = Deno.realPathSync(await Deno.makeTempDir({ prefix: "flame-test-" }));
  try {
    return await fn(dir);
  } finally {
    killProcessesIn(dir);
    await Deno.remove(dir, { recursive: true });
  }
}

/** The unprivileged user tests run flame as (`nobody`). */
export const NOBODY = 65534;

/**
 * Why flame cannot be run as another user here, or undefined when it can: only root may switch
 * users (with util-linux's setpriv).
 */
export const NO_OTHER_USER = Deno.uid() !== 0
  ? "not root, so flame cannot be run as another user"
  : undefined;

/**
 * Runs `dist/flame ARGS` as `nobody`, with a home of its own (where the launcher unpacks) that
 * is removed afterwards. Needs root (see NO_OTHER_USER).
 */
export async function runFlameAsNobody(
  args: string[],
  { cwd, env }: { cwd?: string; env?: Record<string, string> } = {},
): Promise<FlameResult> {
  const home = await Deno.makeTempDir({ prefix: "flame-nobody-" });
  await Deno.chown(home, NOBODY, NOBODY);
  try {
    const out = await new Deno.Command("setpriv", {
      args: [
        `--reuid=${NOBODY}`,
        `--regid=${NOBODY}`,
        "--clear-groups",
        await flameBinary(),
        ...args,
      ],
      cwd,
      stdout: "piped",
      stderr: "piped",
      env: { HOME: home, XDG_CACHE_HOME: "", RUST_BACKTRACE: "0", NO_COLOR: "1", ...env },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}
