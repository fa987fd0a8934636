/**
 * Recognising what is being profiled (CPython, Node.js, Deno, the JVM, or native code) and
 * setting it up so perf sees readable stacks: the environment variables and flags that make
 * each runtime describe its JIT or interpreter frames, and the call-graph mode that unwinds it.
 *
 * Detection reads files only (PATH lookup, shebangs, ELF magic, pyvenv.cfg, symlinks); it runs
 * the target only to ask a pyenv-style shim which interpreter it stands for. All file access
 * goes through a `SystemProbe`, so the decisions are unit-tested with a fake file system.
 */
import type { CallGraph } from "./perf.ts";

/** The runtimes flame sets up. `native` is everything else (C, C++, Rust, Go, shell...). */
export type RuntimeKind = "python" | "node" | "deno" | "java" | "native";

/** A CPython version, major and minor. */
export interface PythonVersion {
  major: number;
  minor: number;
}

/** What the target of `flame run` turned out to be. */
export interface Target {
  kind: RuntimeKind;
  /** The command to run: argv[0] may be replaced by the interpreter a shim stood for. */
  argv: string[];
  /** The program file argv[0] resolved to, or undefined when it was not found. */
  executable?: string;
  /** For Python: the interpreter and its version, when known. */
  python?: { interpreter?: string; version?: PythonVersion };
  /** A directory to put first on PATH (a resolved pyenv shim's, as pyenv itself does). */
  pathPrepend?: string;
  /** What was resolved, for `--verbose`. */
  notes: string[];
}

/** File-system and process access detection needs; `realProbe` is the real one. */
export interface SystemProbe {
  /** The file `name` resolves to on PATH (names with a `/` are returned as they are). */
  which(name: string): string | undefined;
  /** The first bytes of a file, or undefined when it cannot be read. */
  readHead(path: string, bytes: number): Uint8Array | undefined;
  /** A whole small text file, or undefined. */
  readText(path: string): string | undefined;
  /** The path with every symlink resolved, or the path itself when that fails. */
  realPath(path: string): string;
  /** Runs an interpreter to ask for its real path and version (only for shims). */
  askPython(path: string): { executable: string; version: PythonVersion } | undefined;
}

/** Reads the basename of a path. */
function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : path.slice(0, i);
}

const PYTHON_NAME = /^python(?:(\d+)(?:\.(\d+))?[a-z]?)?$/;

/** The runtime an executable's file name says it is, and a Python version in the name. */
export function classifyName(
  name: string,
): { kind: RuntimeKind; version?: PythonVersion } {
  const base = basename(name);
  const py = PYTHON_NAME.exec(base);
  if (py) {
    const version = py[1] && py[2] ? { major: Number(py[1]), minor: Number(py[2]) } : undefined;
    return { kind: "python", version };
  }
  if (base === "node" || base === "nodejs") return { kind: "node" };
  if (base === "deno") return { kind: "deno" };
  if (base === "java") return { kind: "java" };
  return { kind: "native" };
}

/** A parsed `#!` line: the interpreter and its arguments (`env` and its options removed). */
export interface Shebang {
  interpreter: string;
  args: string[];
  /** True when the interpreter is looked up on PATH (`#!/usr/bin/env NAME`). */
  viaEnv: boolean;
}

/**
 * Parses the first line of a script. `#!/usr/bin/env [-S] python3 -u` → python3 (via PATH)
 * with `-u`; `#!/opt/py/bin/python3.12` → that path. Returns undefined without a `#!`.
 */
export function parseShebang(firstLine: string): Shebang | undefined {
  if (!firstLine.startsWith("#!")) return undefined;
  const words = firstLine.slice(2).trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return undefined;
  if (basename(words[0]) !== "env") {
    return { interpreter: words[0], args: words.slice(1), viaEnv: false };
  }
  let i = 1;
  // env's own options (-S splits the rest, -i/-u NAME change the environment).
  while (i < words.length && words[i].startsWith("-")) i += words[i] === "-u" ? 2 : 1;
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i])) i++;
  if (i >= words.length) return undefined;
  return { interpreter: words[i], args: words.slice(i + 1), viaEnv: true };
}

/** The `version = 3.12.1` (or uv's `version_info = 3.12.1`) of a venv's pyvenv.cfg. */
export function parsePyvenvVersion(text: string): PythonVersion | undefined {
  const m = /^\s*(?:version|version_info)\s*=\s*(\d+)\.(\d+)/m.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];

function isElf(head: Uint8Array): boolean {
  return ELF_MAGIC.every((b, i) => head[i] === b);
}

/** True for a wrapper script that execs the real program (pyenv, asdf and similar shims). */
export function isShimScript(text: string): boolean {
  return /\b(?:pyenv|asdf|rtx|mise)\b/.test(text) && /\bexec\b/.test(text);
}

/**
 * Works out what `argv` runs. Follows a script's shebang to its interpreter, asks a pyenv shim
 * which interpreter it stands for (and runs that instead, so bash and pyenv are not profiled),
 * and finds a Python version from the file name or the venv's pyvenv.cfg.
 */
export function detectTarget(argv: string[], probe: SystemProbe): Target {
  const target: Target = { kind: "native", argv: [...argv], notes: [] };
  if (argv.length === 0) return target;
  const executable = probe.which(argv[0]);
  if (!executable) return target;
  target.executable = executable;
  resolveInto(target, executable, 0, probe, (interpreter) => {
    target.argv = [interpreter, ...argv.slice(1)];
  });
  return target;
}

/**
 * Classifies `file` into `target`. `replace` swaps the command's interpreter when a shim was
 * resolved; shebang scripts pass a version that also keeps the script path.
 */
function resolveInto(
  target: Target,
  file: string,
  depth: number,
  probe: SystemProbe,
  replace: (interpreter: string) => void,
): void {
  const head = probe.readHead(file, 512);
  if (head && isElf(head)) {
    const real = probe.realPath(file);
    const byName = classifyName(real);
    const direct = byName.kind !== "native" ? byName : classifyName(file);
    target.kind = direct.kind;
    if (direct.kind === "python") {
      // A venv's bin/python is a symlink to the base interpreter; its pyvenv.cfg names the version.
      const cfg = probe.readText(`${dirname(dirname(file))}/pyvenv.cfg`);
      const version = direct.version ?? byName.version ??
        (cfg ? parsePyvenvVersion(cfg) : undefined);
      target.python = { interpreter: real, version };
    }
    return;
  }
  const text = head ? new TextDecoder().decode(head) : "";
  const firstLine = text.split("\n", 1)[0];
  if (isShimScript(text)) {
    const name = basename(file);
    const byName = classifyName(name);
    if (byName.kind !== "python") {
      target.kind = byName.kind;
      return;
    }
    const asked = probe.askPython(file);
    target.kind = "python";
    if (!asked) {
      target.python = { version: byName.version };
      return;
    }
    target.python = { interpreter: asked.executable, version: asked.version };
    target.notes.push(`${file}: a shim for ${asked.executable}`);
    // pyenv puts the version's bin directory first on PATH; keep that for child processes.
    target.pathPrepend = dirname(asked.executable);
    replace(asked.executable);
    return;
  }
  const shebang = parseShebang(firstLine);
  if (shebang && depth < 3) {
    const interpreter = shebang.viaEnv ? probe.which(shebang.interpreter) : shebang.interpreter;
    if (!interpreter) return;
    target.notes.push(`${file}: a script run by ${interpreter}`);
    const before = target.argv;
    resolveInto(target, interpreter, depth + 1, probe, (real) => {
      // The kernel would run `interpreter [args] script ...`; run the real interpreter so.
      target.argv = [real, ...shebang.args, file, ...before.slice(1)];
    });
    return;
  }
  const byName = classifyName(file);
  target.kind = byName.kind;
  if (byName.kind === "python") target.python = { version: byName.version };
}

/** How a runtime is set up for perf. */
export interface RuntimeSetup {
  /** The command with runtime flags added. */
  argv: string[];
  /** Environment to add for the target's process tree. */
  env: Record<string, string>;
  /** The call-graph mode that unwinds this runtime's stacks. */
  callGraph: CallGraph;
  /** `perf record -k 1`: jitdump timestamps need CLOCK_MONOTONIC. */
  monotonicClock: boolean;
  /** Notes to print once, before the run (e.g. what an old Python cannot show). */
  notes: string[];
}

/** Node's and Deno's V8 flags: a perf map, and named frames for interpreted functions too. */
export const V8_PERF_FLAGS = ["--perf-basic-prof", "--interpreted-frames-native-stack"];

/** The JVM flags: frame pointers in JIT code, and a perf map written at exit. */
export const JAVA_PERF_FLAGS = [
  "-XX:+PreserveFramePointer",
  "-XX:+UnlockDiagnosticVMOptions",
  "-XX:+DumpPerfMapAtExit",
];

/** DWARF stack copy sizes: C/C++ fit in 16 KB; each Python frame costs ~600 B of C stack. */
export const NATIVE_DWARF_SIZE = 16384;
export const PYTHON_DWARF_SIZE = 32768;

const DENO_SUBCOMMANDS = new Set(["run", "test", "bench", "serve", "eval"]);

/** The note printed once for a Python whose perf support is limited or missing. */
export function pythonVersionNote(version: PythonVersion | undefined): string | undefined {
  if (!version || version.major !== 3) return undefined;
  if (version.minor <= 11) {
    return `Python ${version.major}.${version.minor} has no perf support: Python function names ` +
      `need Python 3.12+ (whole Python stacks 3.13+); its functions show as ` +
      `_PyEval_EvalFrameDefault`;
  }
  if (version.minor === 12) {
    return "Python 3.12: perf sees only the innermost Python function of each stack; " +
      "Python 3.13+ shows whole Python stacks";
  }
  return undefined;
}

/**
 * The setup for a target. Unless flame's interpreter reader gives the Python frames
 * (`pythonReader`), both CPython variables are set for every target: 3.12 reads the first,
 * 3.13+ the second, older versions neither, and a Python started by a native program (make, a
 * shell script) benefits too. Afterwards a `jit-PID.dump` means `perf inject --jit`.
 */
export function setupRuntime(
  target: Target,
  env: Record<string, string | undefined>,
  { pythonReader = false }: { pythonReader?: boolean } = {},
): RuntimeSetup {
  const setup: RuntimeSetup = {
    argv: [...target.argv],
    env: pythonReader ? {} : { PYTHONPERFSUPPORT: "1", PYTHON_PERF_JIT_SUPPORT: "1" },
    callGraph: { mode: "dwarf", size: NATIVE_DWARF_SIZE },
    monotonicClock: true,
    notes: [],
  };
  if (target.pathPrepend) {
    setup.env.PATH = env.PATH ? `${target.pathPrepend}:${env.PATH}` : target.pathPrepend;
  }
  switch (target.kind) {
    case "python": {
      setup.callGraph = { mode: "dwarf", size: PYTHON_DWARF_SIZE };
      const note = pythonReader ? undefined : pythonVersionNote(target.python?.version);
      if (note) setup.notes.push(note);
      break;
    }
    case "node": {
      // NODE_OPTIONS reaches child node processes too (workers, npm scripts).
      const prev = env.NODE_OPTIONS?.trim();
      setup.env.NODE_OPTIONS = [prev, ...V8_PERF_FLAGS].filter(Boolean).join(" ");
      // The perf map comes with a V8 log (isolate-*.log in the working directory). Node allows
      // --logfile only on its command line: node itself gets it, its children are cleaned up.
      if (classifyName(setup.argv[0]).kind === "node") {
        setup.argv = [setup.argv[0], "--logfile=/dev/null", ...setup.argv.slice(1)];
      }
      setup.callGraph = { mode: "fp" }; // V8 keeps frame pointers; DWARF cannot unwind JIT code
      break;
    }
    case "deno": {
      setup.argv = denoArgv(setup.argv, env, setup.env);
      setup.callGraph = { mode: "fp" };
      break;
    }
    case "java": {
      setup.argv = [setup.argv[0], ...JAVA_PERF_FLAGS, ...setup.argv.slice(1)];
      setup.callGraph = { mode: "fp" }; // with PreserveFramePointer, JIT code keeps the chain
      break;
    }
    case "native":
      break;
  }
  return setup;
}

/**
 * Adds `--v8-flags=...` after Deno's subcommand (or before the script of `deno script.ts`);
 * for other subcommands (`deno task`) sets DENO_V8_FLAGS, which child Denos read as well.
 */
function denoArgv(
  argv: string[],
  env: Record<string, string | undefined>,
  extraEnv: Record<string, string>,
): string[] {
  const flag = `--v8-flags=${V8_PERF_FLAGS.join(",")}`;
  const sub = argv[1];
  if (sub !== undefined && DENO_SUBCOMMANDS.has(sub)) {
    return [argv[0], sub, flag, ...argv.slice(2)];
  }
  if (sub !== undefined && /\.(?:[mc]?[jt]sx?)$/.test(sub)) {
    return [argv[0], flag, ...argv.slice(1)];
  }
  const prev = env.DENO_V8_FLAGS?.trim();
  extraEnv.DENO_V8_FLAGS = [prev, ...V8_PERF_FLAGS].filter(Boolean).join(",");
  return argv;
}

/** A process being attached to, as read from /proc. */
export interface ProcessInfo {
  pid: number;
  /** /proc/PID/exe resolved, when readable. */
  exe?: string;
  cmdline: string[];
  /** /proc/PID/environ, when readable. */
  environ?: Record<string, string>;
  /** Shared objects mapped into the process (from /proc/PID/maps). */
  libraries: string[];
}

/** What attaching to one process needs and what it can show. */
export interface AttachSetup {
  kind: RuntimeKind;
  /** Python perf_jit is on: inject the jitdump after recording. */
  jitdump: boolean;
  /** The JVM: ask it for a perf map (`jcmd PID Compiler.perfmap`) after recording. */
  javaPerfMap: boolean;
  /** Warnings about frames that will be unreadable, with the fix. */
  notes: string[];
}

const LIBPYTHON = /\/libpython(\d+)\.(\d+)[a-z]*\.so/;

/** The runtime of a running process and what perf can get from it. Pure over `info`. */
export function attachSetup(info: ProcessInfo): AttachSetup {
  const exeKind = classifyName(info.exe ?? info.cmdline[0] ?? "");
  const lib = info.libraries.map((l) => LIBPYTHON.exec(l)).find((m) => m);
  const kind = lib ? "python" : exeKind.kind;
  const setup: AttachSetup = { kind, jitdump: false, javaPerfMap: false, notes: [] };
  const env = info.environ ?? {};
  const args = info.cmdline.join(" ");
  const pid = info.pid;
  switch (kind) {
    case "python": {
      const version = lib ? { major: Number(lib[1]), minor: Number(lib[2]) } : exeKind.version;
      const jit = /-X\s*perf_jit\b/.test(args) || env.PYTHON_PERF_JIT_SUPPORT === "1";
      const map = /-X\s*perf\b(?!_)/.test(args) || env.PYTHONPERFSUPPORT === "1";
      const modern = version !== undefined && (version.major > 3 || version.minor >= 12);
      setup.jitdump = jit && (version === undefined || version.major > 3 || version.minor >= 13);
      if (modern && !jit && !map) {
        const fix = version.major === 3 && version.minor === 12
          ? "PYTHONPERFSUPPORT=1 (or -X perf)"
          : "PYTHON_PERF_JIT_SUPPORT=1 (or -X perf_jit)";
        setup.notes.push(
          `process ${pid} (Python ${version.major}.${version.minor}) was started without perf ` +
            `support, so its Python functions show as _PyEval_EvalFrameDefault: start it with ` +
            `${fix}, or profile it with 'flame run'`,
        );
      } else if (!modern && version) {
        const note = pythonVersionNote(version);
        if (note) setup.notes.push(`process ${pid}: ${note}`);
      }
      break;
    }
    case "node":
    case "deno": {
      const flags = `${args} ${env.NODE_OPTIONS ?? ""} ${env.DENO_V8_FLAGS ?? ""}`;
      if (!flags.includes("perf-basic-prof") && !flags.includes("perf-prof")) {
        setup.notes.push(
          `process ${pid} (${kind}) was started without --perf-basic-prof, so its JavaScript ` +
            `frames will be [unknown]: start it with ` +
            (kind === "node"
              ? `NODE_OPTIONS="${V8_PERF_FLAGS.join(" ")}"`
              : `--v8-flags=${V8_PERF_FLAGS.join(",")}`) +
            `, or use 'flame run'`,
        );
      }
      break;
    }
    case "java": {
      setup.javaPerfMap = true;
      const opts = `${args} ${env.JAVA_TOOL_OPTIONS ?? ""} ${env.JDK_JAVA_OPTIONS ?? ""}`;
      if (!opts.includes("-XX:+PreserveFramePointer")) {
        setup.notes.push(
          `process ${pid} (java) was started without -XX:+PreserveFramePointer, so stacks ` +
            `through JIT-compiled code will be cut short: start it with that flag`,
        );
      }
      break;
    }
    case "native":
      break;
  }
  return setup;
}

/** The call-graph mode for attaching: frame pointers when every target is a JIT runtime. */
export function attachCallGraph(kinds: RuntimeKind[]): CallGraph {
  if (kinds.length > 0 && kinds.every((k) => k === "node" || k === "deno" || k === "java")) {
    return { mode: "fp" };
  }
  const size = kinds.includes("python") ? PYTHON_DWARF_SIZE : NATIVE_DWARF_SIZE;
  return { mode: "dwarf", size };
}

/** The real file system and processes. */
export const realProbe: SystemProbe = {
  which(name: string): string | undefined {
    if (name.includes("/")) return isFile(name) ? name : undefined;
    for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
      const path = `${dir === "" ? "." : dir}/${name}`;
      if (isExecutableFile(path)) return path;
    }
    return undefined;
  },
  readHead(path: string, bytes: number): Uint8Array | undefined {
    let file: Deno.FsFile | undefined;
    try {
      file = Deno.openSync(path, { read: true });
      const buf = new Uint8Array(bytes);
      const n = file.readSync(buf) ?? 0;
      return buf.subarray(0, n);
    } catch {
      return undefined;
    } finally {
      file?.close();
    }
  },
  readText(path: string): string | undefined {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  },
  realPath(path: string): string {
    try {
      return Deno.realPathSync(path);
    } catch {
      return path;
    }
  },
  askPython(path: string) {
    try {
      const out = new Deno.Command(path, {
        args: [
          "-I",
          "-S",
          "-c",
          "import sys;print(sys.executable);print('%d.%d'%sys.version_info[:2])",
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).outputSync();
      if (!out.success) return undefined;
      const [executable, version] = new TextDecoder().decode(out.stdout).trim().split("\n");
      const m = /^(\d+)\.(\d+)$/.exec(version ?? "");
      if (!executable || !m) return undefined;
      return { executable, version: { major: Number(m[1]), minor: Number(m[2]) } };
    } catch {
      return undefined;
    }
  },
};

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** True for a file with an execute bit (for anyone). */
export function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** Reads what attaching needs from /proc/PID (fields it may not read are left empty). */
export function readProcess(pid: number): ProcessInfo | undefined {
  const read = (name: string): string | undefined => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/${name}`);
    } catch {
      return undefined;
    }
  };
  const cmdline = read("cmdline");
  if (cmdline === undefined) return undefined;
  let exe: string | undefined;
  try {
    exe = Deno.readLinkSync(`/proc/${pid}/exe`);
  } catch { /* another user's process */ }
  const environText = read("environ");
  const environ = environText === undefined ? undefined : Object.fromEntries(
    environText.split("\0").filter((e) => e.includes("=")).map((e) => {
      const i = e.indexOf("=");
      return [e.slice(0, i), e.slice(i + 1)];
    }),
  );
  const libraries = [
    ...new Set(
      (read("maps") ?? "").split("\n").map((l) => l.slice(l.indexOf("/"))).filter((l) =>
        l.startsWith("/") && l.includes(".so")
      ),
    ),
  ];
  return { pid, exe, cmdline: cmdline.split("\0").filter((a) => a !== ""), environ, libraries };
}
