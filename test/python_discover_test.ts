import assert from "node:assert/strict";
import { discoverPython, elfFacts, versionFromName } from "../src/python/discover.ts";
import { PythonReader } from "../src/python/reader.ts";
import { readElf } from "../src/python/elf.ts";
import { parseMaps } from "../src/python/maps.ts";
import { FlameError } from "../src/errors.ts";
import { withTempDir } from "./helpers.ts";
import { fixture, pythons, startFixture, startProgram } from "./python_helpers.ts";

const ALL = pythons();
const byLabel = (label: string) => ALL.find((p) => p.label === label)!;

/** Main-thread function names of a process, outermost first. */
function mainStack(pid: number, options?: Parameters<typeof discoverPython>[1]): string[] {
  const reader = new PythonReader(discoverPython(pid, options));
  try {
    for (let i = 0; i < 50; i++) {
      const main = reader.threads().find((t) => t.tid === pid);
      if (main?.frames.at(-1)?.name === "inner") return main.frames.map((f) => f.name);
    }
    throw new Error("never saw inner()");
  } finally {
    reader.close();
  }
}

for (const label of ["3.10.13", "3.11.7", "3.12.1", "3.13.0", "3.11 (Debian)"]) {
  const python = byLabel(label);
  Deno.test({
    name: `python discover ${label}: found through the .PyRuntime section alone (as if stripped)` +
      (python.missing ? ` (ignored: ${python.missing})` : ""),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "stacks.py");
      try {
        assert.deepEqual(mainStack(program.pid, { runtimeSymbol: false }), [
          "<module>",
          "outer",
          "middle",
          "inner",
        ]);
      } finally {
        await program.stop();
      }
    },
  });
}

const py27 = byLabel("2.7.18");
Deno.test({
  name: "python discover: a stripped libpython2.7 (interp_head gone) is one clear error" +
    (py27.missing ? ` (ignored: ${py27.missing})` : ""),
  ignore: py27.missing !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const lib = py27.exe.replace(/bin\/python2\.7$/, "lib/libpython2.7.so.1.0");
      await Deno.copyFile(lib, `${dir}/libpython2.7.so.1.0`);
      const strip = await new Deno.Command("strip", { args: [`${dir}/libpython2.7.so.1.0`] })
        .output();
      assert.ok(strip.success, "strip ran");
      // pyenv's python2.7 finds libpython through RUNPATH, which LD_LIBRARY_PATH overrides.
      const program = await startProgram(py27.exe, [fixture("stacks.py")], {
        env: { LD_LIBRARY_PATH: dir },
      });
      try {
        assert.ok(Deno.readTextFileSync(`/proc/${program.pid}/maps`).includes(dir));
        assert.throws(
          () => discoverPython(program.pid),
          (err: unknown) =>
            err instanceof FlameError && /is stripped: the symbol interp_head/.test(err.message) &&
            /unstripped build/.test(err.hint ?? ""),
        );
      } finally {
        await program.stop();
      }
    });
  },
});

const py312 = byLabel("3.12.1");
Deno.test({
  name: "python discover: an interpreter embedded in a C program (linking libpython)" +
    (py312.missing ? ` (ignored: ${py312.missing})` : ""),
  ignore: py312.missing !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const config = new TextDecoder().decode(
        (await new Deno.Command(`${py312.exe}-config`, {
          args: ["--cflags", "--ldflags", "--embed"],
          stdout: "piped",
        }).output()).stdout,
      ).split(/\s+/).filter((a) => a !== "");
      const exe = `${dir}/embed-host`;
      const cc = await new Deno.Command("gcc", {
        args: ["-o", exe, fixture("embed.c"), ...config],
        stderr: "piped",
      }).output();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const program = await startProgram(exe, [fixture("stacks.py")]);
      try {
        const target = discoverPython(program.pid);
        assert.equal(target.executable, exe);
        assert.match(target.binary, /libpython3\.12\.so/);
        target.memory.close();
        assert.deepEqual(mainStack(program.pid), ["<module>", "outer", "middle", "inner"]);
      } finally {
        await program.stop();
      }
    });
  },
});

Deno.test("python discover: not a Python process, no such process: one line each", async () => {
  const sleeper = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    assert.throws(() => discoverPython(sleeper.pid), /is not a Python process/);
  } finally {
    sleeper.kill();
    await sleeper.status;
  }
  assert.throws(() => discoverPython(sleeper.pid), /no process \d+ \(it does not exist/);
  assert.throws(() => discoverPython(0), /not a process id/);
});

Deno.test("python discover: versions from file names", () => {
  assert.deepEqual(versionFromName("/usr/lib/libpython3.11.so.1.0"), { major: 3, minor: 11 });
  assert.deepEqual(versionFromName("/x/lib/libpython3.6m.so.1.0"), { major: 3, minor: 6 });
  assert.deepEqual(versionFromName("/usr/bin/python2.7"), { major: 2, minor: 7 });
  assert.equal(versionFromName("/usr/bin/embed-host"), undefined);
});

Deno.test("python ELF reader: damaged and hostile files are one error, not a hang", async () => {
  await withTempDir((dir) => {
    const write = (name: string, bytes: Uint8Array) => {
      Deno.writeFileSync(`${dir}/${name}`, bytes);
      return `${dir}/${name}`;
    };
    assert.throws(() => readElf(write("empty", new Uint8Array(0))), /not an ELF file/);
    assert.throws(
      () => readElf(write("text", new TextEncoder().encode("#!/bin/sh\n".repeat(10)))),
      /not an ELF file/,
    );
    // A real header whose section table points far past the end of the file.
    const real = Deno.readFileSync("/bin/true").slice(0, 4096);
    const v = new DataView(real.buffer);
    v.setUint32(40, 0xfffffff0, true); // e_shoff
    v.setUint16(60, 65535, true); // e_shnum
    const elf = readElf(write("bad-sections", real));
    assert.deepEqual(elf.sections, []);
    assert.equal(elf.symbols(["_PyRuntime"]).size, 0);
    return Promise.resolve();
  });
});

Deno.test("python maps: /proc/PID/maps lines, with spaces and (deleted) in paths", () => {
  const maps = parseMaps(
    "7f0000000000-7f0000001000 r--p 00000000 08:01 1234   /usr/lib/libpython3.11.so.1.0\n" +
      "7f0000001000-7f0000002000 r-xp 00001000 08:01 1234   /tmp/my dir/python3 (deleted)\n" +
      "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]\n" +
      "garbage\n",
  );
  assert.equal(maps.length, 3);
  assert.equal(maps[0].start, 0x7f0000000000);
  assert.equal(maps[1].offset, 0x1000);
  assert.equal(maps[1].path, "/tmp/my dir/python3 (deleted)");
  assert.equal(maps[2].inode, 0);
});

for (const label of ["2.7.18", "3.9.18", "3.12.1", "3.13.0"]) {
  const python = byLabel(label);
  Deno.test({
    name: `python reader ${label}: without type symbols, code and frame types are learnt by name` +
      (python.missing ? ` (ignored: ${python.missing})` : ""),
    ignore: python.missing !== undefined,
    async fn() {
      const program = await startFixture(python, "stacks.py");
      try {
        const target = discoverPython(program.pid);
        const known = { ...target.types };
        target.types.code = undefined;
        target.types.frame = undefined;
        const reader = new PythonReader(target);
        try {
          let main;
          for (let i = 0; i < 50 && main?.frames.at(-1)?.name !== "inner"; i++) {
            main = reader.threads().find((t) => t.tid === program.pid);
          }
          assert.deepEqual(main?.frames.map((f) => f.name), [
            "<module>",
            "outer",
            "middle",
            "inner",
          ]);
          assert.equal(target.types.code, known.code);
          if (python.minor <= 10 || python.major === 2) {
            assert.equal(target.types.frame, known.frame);
          }
        } finally {
          reader.close();
        }
      } finally {
        await program.stop();
      }
    },
  });
}

const DEBIAN = byLabel("3.11 (Debian)");
Deno.test({
  name: "discovery parses a file once, and afresh once it is replaced" +
    (DEBIAN.missing ? ` (ignored: ${DEBIAN.missing})` : ""),
  ignore: DEBIAN.missing !== undefined,
  fn: () =>
    withTempDir((dir) => {
      // Any ELF file that defines a symbol discovery looks for: Debian's static python3.11 does.
      const copy = `${dir}/python3.11`;
      Deno.copyFileSync(DEBIAN.exe, copy);
      const first = elfFacts(copy, copy);
      assert.ok(first.symbols.has("_PyRuntime"), "the symbols discovery wants are read");
      assert.equal(elfFacts(copy, copy), first, "read again: the facts kept are given");
      // The same name, another file (a package upgrade): parsed again.
      Deno.removeSync(copy);
      Deno.copyFileSync(DEBIAN.exe, copy);
      // (Its inode may be the old one's again: an upgrade's file is also newer or older.)
      Deno.utimeSync(copy, new Date(2020, 0, 1), new Date(2020, 0, 1));
      assert.notEqual(elfFacts(copy, copy), first);
      assert.deepEqual(elfFacts(copy, copy).symbols, first.symbols);
    }),
});
