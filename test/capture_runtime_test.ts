import assert from "node:assert/strict";
import { paletteFor } from "../src/cli/capture_output.ts";
import {
  attachCallGraph,
  attachSetup,
  classifyName,
  detectTarget,
  parsePyvenvVersion,
  parseShebang,
  pythonVersionNote,
  setupRuntime,
  type SystemProbe,
  type Target,
} from "../src/capture/runtime.ts";

const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
const text = (s: string) => new TextEncoder().encode(s);
const SHIM = `#!/usr/bin/env bash
set -e
program="\${0##*/}"
export PYENV_ROOT="/root/.pyenv"
exec "/root/.pyenv/libexec/pyenv" exec "$program" "$@"
`;

/** A fake file system: path → contents; symlinks; PATH lookups; what a shim answers. */
function fakeProbe(
  files: Record<string, Uint8Array | string>,
  opts: { links?: Record<string, string>; path?: Record<string, string>; asked?: string[] } = {},
): SystemProbe {
  return {
    which: (name) => name.includes("/") ? (name in files ? name : undefined) : opts.path?.[name],
    readHead: (p) => {
      const f = files[p];
      return f === undefined ? undefined : typeof f === "string" ? text(f) : f;
    },
    readText: (p) => {
      const f = files[p];
      return typeof f === "string" ? f : undefined;
    },
    realPath: (p) => opts.links?.[p] ?? p,
    askPython: (p) => {
      opts.asked?.push(p);
      return {
        executable: "/root/.pyenv/versions/3.13.0/bin/python3.13",
        version: { major: 3, minor: 13 },
      };
    },
  };
}

Deno.test("runtime: names tell python versions, node, deno, java", () => {
  assert.deepEqual(classifyName("/usr/bin/python3.12"), {
    kind: "python",
    version: { major: 3, minor: 12 },
  });
  assert.deepEqual(classifyName("python3"), { kind: "python", version: undefined });
  assert.deepEqual(classifyName("python3.13t"), {
    kind: "python",
    version: { major: 3, minor: 13 },
  });
  assert.equal(classifyName("/usr/bin/node").kind, "node");
  assert.equal(classifyName("deno").kind, "deno");
  assert.equal(classifyName("/usr/lib/jvm/java-17/bin/java").kind, "java");
  assert.equal(classifyName("./prog").kind, "native");
  assert.equal(classifyName("pythonista").kind, "native");
});

Deno.test("runtime: shebangs, direct and through env", () => {
  assert.deepEqual(parseShebang("#!/usr/bin/env python3"), {
    interpreter: "python3",
    args: [],
    viaEnv: true,
  });
  assert.deepEqual(parseShebang("#!/usr/bin/env -S python3 -u"), {
    interpreter: "python3",
    args: ["-u"],
    viaEnv: true,
  });
  assert.deepEqual(parseShebang("#! /opt/py/bin/python3.12 -O"), {
    interpreter: "/opt/py/bin/python3.12",
    args: ["-O"],
    viaEnv: false,
  });
  assert.deepEqual(parseShebang("#!/usr/bin/env FOO=1 node"), {
    interpreter: "node",
    args: [],
    viaEnv: true,
  });
  assert.equal(parseShebang("print('hi')"), undefined);
  assert.deepEqual(parsePyvenvVersion("home = /x\nversion = 3.12.1\n"), { major: 3, minor: 12 });
  assert.deepEqual(parsePyvenvVersion("version_info = 3.11.7.final.0"), { major: 3, minor: 11 });
});

Deno.test("runtime: a venv's python finds its version in pyvenv.cfg", () => {
  const probe = fakeProbe({
    "/proj/.venv/bin/python": ELF,
    "/proj/.venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.12.1\n",
  }, { links: { "/proj/.venv/bin/python": "/usr/bin/python3" } });
  const t = detectTarget(["/proj/.venv/bin/python", "app.py"], probe);
  assert.equal(t.kind, "python");
  assert.deepEqual(t.python?.version, { major: 3, minor: 12 });
  assert.deepEqual(t.argv, ["/proj/.venv/bin/python", "app.py"], "a venv is run as it is");
});

Deno.test("runtime: a pyenv shim is resolved and replaced by the real interpreter", () => {
  const asked: string[] = [];
  const probe = fakeProbe(
    { "/root/.pyenv/shims/python3": SHIM },
    { path: { python3: "/root/.pyenv/shims/python3" }, asked },
  );
  const t = detectTarget(["python3", "work.py", "8"], probe);
  assert.equal(t.kind, "python");
  assert.deepEqual(t.python?.version, { major: 3, minor: 13 });
  assert.deepEqual(t.argv, ["/root/.pyenv/versions/3.13.0/bin/python3.13", "work.py", "8"]);
  assert.equal(t.pathPrepend, "/root/.pyenv/versions/3.13.0/bin");
  assert.deepEqual(asked, ["/root/.pyenv/shims/python3"]);
});

Deno.test("runtime: a script with a Python shebang through a shim runs the real interpreter", () => {
  const probe = fakeProbe(
    { "./tool.py": "#!/usr/bin/env python3\nprint(1)\n", "/root/.pyenv/shims/python3": SHIM },
    { path: { python3: "/root/.pyenv/shims/python3" } },
  );
  const t = detectTarget(["./tool.py", "--x"], probe);
  assert.equal(t.kind, "python");
  assert.deepEqual(t.argv, ["/root/.pyenv/versions/3.13.0/bin/python3.13", "./tool.py", "--x"]);
});

Deno.test("runtime: a script with an absolute Python shebang is run as it is", () => {
  const probe = fakeProbe({
    "./tool": "#!/usr/bin/python3.11\nprint(1)\n",
    "/usr/bin/python3.11": ELF,
  });
  const t = detectTarget(["./tool"], probe);
  assert.equal(t.kind, "python");
  assert.deepEqual(t.python?.version, { major: 3, minor: 11 });
  assert.deepEqual(t.argv, ["./tool"]);
});

Deno.test("runtime: node scripts, missing commands, native programs", () => {
  const probe = fakeProbe(
    { "/usr/lib/node_modules/npm/bin/npm-cli.js": "#!/usr/bin/env node\n", "/usr/bin/node": ELF },
    { path: { npm: "/usr/lib/node_modules/npm/bin/npm-cli.js", node: "/usr/bin/node" } },
  );
  assert.equal(detectTarget(["npm", "test"], probe).kind, "node");
  const missing = detectTarget(["nosuch"], probe);
  assert.equal(missing.executable, undefined);
  const native = detectTarget(["/bin/prog"], fakeProbe({ "/bin/prog": ELF }));
  assert.equal(native.kind, "native");
});

const target = (kind: Target["kind"], argv: string[], extra: Partial<Target> = {}): Target => ({
  kind,
  argv,
  executable: argv[0],
  notes: [],
  ...extra,
});

Deno.test("setup: Python gets both perf variables, DWARF 32 KB and -k 1", () => {
  const s = setupRuntime(
    target("python", ["python3.13", "x.py"], { python: { version: { major: 3, minor: 13 } } }),
    {},
  );
  assert.equal(s.env.PYTHONPERFSUPPORT, "1");
  assert.equal(s.env.PYTHON_PERF_JIT_SUPPORT, "1");
  assert.deepEqual(s.callGraph, { mode: "dwarf", size: 32768 });
  assert.equal(s.monotonicClock, true);
  assert.equal(paletteFor(["python"]), "python");
  assert.deepEqual(s.notes, []);
  const old = setupRuntime(
    target("python", ["python3.11"], { python: { version: { major: 3, minor: 11 } } }),
    {},
  );
  assert.match(
    old.notes[0],
    /Python 3\.11 has no perf support: Python function names need Python 3\.12\+/,
  );
  assert.match(pythonVersionNote({ major: 3, minor: 12 })!, /innermost Python function/);
});

Deno.test("setup: Node gets NODE_OPTIONS and frame pointers; the user's options are kept", () => {
  const s = setupRuntime(target("node", ["node", "app.js"]), {
    NODE_OPTIONS: "--max-old-space-size=99",
  });
  assert.equal(
    s.env.NODE_OPTIONS,
    "--max-old-space-size=99 --perf-basic-prof --interpreted-frames-native-stack",
  );
  assert.deepEqual(s.callGraph, { mode: "fp" });
  assert.equal(paletteFor(["node"]), "js");
  assert.deepEqual(s.argv, ["node", "--logfile=/dev/null", "app.js"]);
});

Deno.test("setup: Deno gets --v8-flags after its subcommand, or DENO_V8_FLAGS", () => {
  const flag = "--v8-flags=--perf-basic-prof,--interpreted-frames-native-stack";
  assert.deepEqual(
    setupRuntime(target("deno", ["deno", "run", "-A", "x.ts"]), {}).argv,
    ["deno", "run", flag, "-A", "x.ts"],
  );
  assert.deepEqual(setupRuntime(target("deno", ["deno", "x.ts"]), {}).argv, ["deno", flag, "x.ts"]);
  const task = setupRuntime(target("deno", ["deno", "task", "dev"]), {});
  assert.deepEqual(task.argv, ["deno", "task", "dev"]);
  assert.equal(task.env.DENO_V8_FLAGS, "--perf-basic-prof,--interpreted-frames-native-stack");
});

Deno.test("setup: Java gets frame pointers and a perf map at exit, before its arguments", () => {
  const s = setupRuntime(target("java", ["java", "-jar", "app.jar"]), {});
  assert.deepEqual(s.argv, [
    "java",
    "-XX:+PreserveFramePointer",
    "-XX:+UnlockDiagnosticVMOptions",
    "-XX:+DumpPerfMapAtExit",
    "-jar",
    "app.jar",
  ]);
  assert.deepEqual(s.callGraph, { mode: "fp" });
  assert.equal(paletteFor(["java"]), "java");
});

Deno.test("setup: native code is unwound with DWARF; a shim's PATH is kept", () => {
  const s = setupRuntime(target("native", ["./prog"]), {});
  assert.deepEqual(s.callGraph, { mode: "dwarf", size: 16384 });
  assert.equal(paletteFor(["native"]), "hot");
  const py = setupRuntime(target("python", ["/v/bin/python3.13"], { pathPrepend: "/v/bin" }), {
    PATH: "/usr/bin",
  });
  assert.equal(py.env.PATH, "/v/bin:/usr/bin");
});

Deno.test("attach: what a running process can show", () => {
  const py = attachSetup({
    pid: 42,
    exe: "/usr/bin/python3.13",
    cmdline: ["python3", "-X", "perf_jit", "srv.py"],
    libraries: ["/usr/lib/libpython3.13.so.1.0"],
  });
  assert.equal(py.kind, "python");
  assert.equal(py.jitdump, true);
  assert.deepEqual(py.notes, []);
  const plainInfo = (pid: number) => ({
    pid,
    exe: "/usr/bin/python3.12",
    cmdline: ["python3", "srv.py"],
    environ: {},
    libraries: [],
  });
  const plain = attachSetup(plainInfo(43));
  assert.match(plain.notes[0], /started without perf support.*PYTHONPERFSUPPORT=1 \(or -X perf\)/);
  const plain13 = attachSetup({ ...plainInfo(44), exe: "/usr/bin/python3.13" });
  assert.match(plain13.notes[0], /process 44 \(Python 3\.13\).*PYTHON_PERF_JIT_SUPPORT=1 \(or/);
  assert.doesNotMatch(plain13.notes[0], /PYTHONPERFSUPPORT/);
  const node = attachSetup({
    pid: 44,
    exe: "/usr/bin/node",
    cmdline: ["node", "x.js"],
    libraries: [],
  });
  assert.match(node.notes[0], /--perf-basic-prof/);
  const nodeOk = attachSetup({
    pid: 45,
    exe: "/usr/bin/node",
    cmdline: ["node", "x.js"],
    environ: { NODE_OPTIONS: "--perf-basic-prof" },
    libraries: [],
  });
  assert.deepEqual(nodeOk.notes, []);
  const java = attachSetup({
    pid: 46,
    exe: "/usr/lib/jvm/java-17/bin/java",
    cmdline: ["java", "-XX:+PreserveFramePointer", "Main"],
    libraries: [],
  });
  assert.equal(java.javaPerfMap, true);
  assert.deepEqual(java.notes, []);
  assert.deepEqual(attachCallGraph(["java", "node"]), { mode: "fp" });
  assert.deepEqual(attachCallGraph(["python"]), { mode: "dwarf", size: 32768 });
  assert.deepEqual(attachCallGraph(["native"]), { mode: "dwarf", size: 16384 });
  assert.equal(paletteFor(["python", "native"]), "python");
  assert.equal(paletteFor(["python", "java"]), "hot");
});
