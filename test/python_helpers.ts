/**
 * Shared by the Python reader's tests: the interpreters installed here, and fixture programs
 * (fixtures/python/) started under one of them and awaited until they print `ready`.
 */
import { repoPath } from "./helpers.ts";
import { discoverPython } from "../src/python/discover.ts";
import { PythonReader } from "../src/python/reader.ts";

/** An interpreter to test against. */
export interface Python {
  /** `3.11.7`, or `3.11.2 (Debian)`. */
  label: string;
  /** The interpreter to run. */
  exe: string;
  major: number;
  minor: number;
  /** Why it cannot be tested here (declared ignored with this reason), if so. */
  missing?: string;
}

/** The pyenv versions the reader supports, and Debian's python3.11. */
const PYENV_VERSIONS = [
  "2.7.18",
  "3.6.15",
  "3.7.16",
  "3.8.18",
  "3.9.18",
  "3.10.13",
  "3.11.7",
  "3.12.1",
  "3.13.0",
];

function pyenvRoot(): string | undefined {
  try {
    const out = new Deno.Command("pyenv", { args: ["root"], stdout: "piped", stderr: "null" })
      .outputSync();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Every interpreter the tests run, with a reason where one is not installed. */
export function pythons(): Python[] {
  const root = pyenvRoot();
  const out: Python[] = PYENV_VERSIONS.map((v) => {
    const [major, minor] = v.split(".").map(Number);
    const exe = `${root}/versions/${v}/bin/python${major}.${minor}`;
    const missing = root === undefined
      ? "pyenv is not installed"
      : exists(exe)
      ? undefined
      : `Python ${v} is not installed in pyenv`;
    return { label: v, exe, major, minor, missing };
  });
  const debian = "/usr/bin/python3.11";
  out.push({
    label: "3.11 (Debian)",
    exe: debian,
    major: 3,
    minor: 11,
    missing: exists(debian) ? undefined : "Debian's /usr/bin/python3.11 is not installed",
  });
  return out;
}

/** A fixture program running under test. */
export interface Running {
  pid: number;
  child: Deno.ChildProcess;
  /** Kills it (if still running) and waits for it. */
  stop(): Promise<void>;
  /** Waits for it to exit by itself. */
  done(): Promise<Deno.CommandStatus>;
  /** What it printed after `ready` so far (kept only with the `keepOutput` option). */
  output(): string;
}

/** The path of a fixture program. */
export function fixture(name: string): string {
  return repoPath(`fixtures/python/${name}`);
}

/**
 * Starts `exe ARGS` and resolves once it printed `ready` (fixtures do once their stacks are in
 * place). Its stdout after that is discarded.
 */
export async function startProgram(
  exe: string,
  args: string[],
  { env, quiet = false, keepOutput = false }: {
    env?: Record<string, string>;
    quiet?: boolean;
    keepOutput?: boolean;
  } = {},
): Promise<Running> {
  const child = new Deno.Command(exe, {
    args,
    stdin: "null",
    stdout: "piped",
    // Quiet: for programs whose children complain on stderr when the test kills them.
    stderr: quiet ? "null" : "inherit",
    env,
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const dec = new TextDecoder();
  const deadline = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    while (!text.includes("ready\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`${exe} ${args.join(" ")} exited before it was ready`);
      text += dec.decode(value);
    }
  } finally {
    clearTimeout(deadline);
  }
  // Keep draining stdout so the program never blocks on a full pipe.
  let output = keepOutput ? text.slice(text.indexOf("ready\n") + 6) : "";
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (keepOutput) output += dec.decode(value, { stream: true });
      }
    } catch { /* closed */ }
  })();
  let status: Promise<Deno.CommandStatus> | undefined;
  const done = () => status ??= child.status;
  return {
    pid: child.pid,
    child,
    done,
    output: () => output,
    async stop() {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await done();
    },
  };
}

/** Starts fixture `name` under `python`. */
export function startFixture(
  python: Python,
  name: string,
  args: string[] = [],
  options: { quiet?: boolean; keepOutput?: boolean } = {},
): Promise<Running> {
  return startProgram(python.exe, [fixture(name), ...args], options);
}

/** The line numbers of `# line: NAME` markers in a fixture. */
export function markedLines(name: string): Map<string, number> {
  const out = new Map<string, number>();
  Deno.readTextFileSync(fixture(name)).split("\n").forEach((line, i) => {
    const m = /# line: (\S+)/.exec(line);
    if (m) out.set(m[1], i + 1);
  });
  return out;
}

/** `name` as the version shows it: qualified names from 3.11 (`Worker.run`), else `run`. */
export function qualified(python: Python, qualname: string): string {
  if (python.major === 3 && python.minor >= 11) return qualname;
  return qualname.slice(qualname.lastIndexOf(".") + 1);
}

/**
 * Waits until stacks.py is in place: the main thread in inner(), the worker asleep in
 * sleeper() (right after `ready` either may still be on its way).
 */
export async function settleStacks(pid: number): Promise<void> {
  const reader = new PythonReader(discoverPython(pid));
  try {
    for (let i = 0; i < 100; i++) {
      try {
        const threads = reader.threads();
        const main = threads.find((t) => t.tid === pid);
        const worker = threads.find((t) => t.tid !== pid);
        if (
          main?.frames.at(-1)?.name === "inner" && worker?.frames.at(-1)?.name === "sleeper" &&
          worker.state === "idle"
        ) return;
      } catch { /* torn while starting: read again */ }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`stacks.py (pid ${pid}) never settled`);
  } finally {
    reader.close();
  }
}
