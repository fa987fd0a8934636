/** Shared test helpers: run the CLI as a user would, make temp dirs. */

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

/** Runs `deno run -A main.ts ARGS` with optional stdin, in `cwd`. */
export async function runFlame(
  args: string[],
  { stdin, cwd, env }: { stdin?: string | Uint8Array; cwd?: string; env?: Record<string, string> } =
    {},
): Promise<FlameResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", repoPath("main.ts"), ...args],
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

/** Makes a temp dir, runs `fn` in it, removes it. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "flame-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
