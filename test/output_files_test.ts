/**
 * src/io/output.ts on real files: temporary files that nothing planted can capture, modes and
 * owners kept, links followed only when safe, devices written directly, and every failure (a
 * directory, a missing one, a full or read-only disk) one line naming the path, with nothing
 * left behind. Full and read-only disks are small tmpfs mounts (root only).
 */
import assert from "node:assert/strict";
import { FlameError } from "../src/errors.ts";
import {
  checkOutputPath,
  guardsEnded,
  keepFile,
  removeTemporaryFiles,
  withByteOutput,
  writeFileAtomic,
  writeOutput,
  writeTextOutput,
} from "../src/io/output.ts";
import { renderSvg } from "../src/render/mod.ts";
import { mountTmpfs, names, TMPFS_UNAVAILABLE } from "./output_helpers.ts";
import { withTempDir } from "./helpers.ts";

const NOT_ROOT = Deno.uid() === 0 ? undefined : "needs root (chown, lchown)";
const encoder = new TextEncoder();

function read(path: string): string {
  return Deno.readTextFileSync(path);
}

function isFlameError(pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof FlameError, `not a FlameError: ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  };
}

Deno.test("a file is written whole through a temporary file with an unpredictable name", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out.txt`;
    const seen: string[][] = [];
    for (const text of ["first\n", "second\n"]) {
      await writeOutput(out, async (sink) => {
        await sink.write(text);
        seen.push(names(dir));
      });
      assert.equal(read(out), text);
    }
    assert.equal(seen[0].length, 1);
    assert.match(seen[0][0], /^out\.txt\.[0-9a-f]{16}\.tmp$/);
    assert.match(seen[1][1], /^out\.txt\.[0-9a-f]{16}\.tmp$/);
    assert.notEqual(seen[0][0], seen[1][1]);
    assert.deepEqual(names(dir), ["out.txt"]);
  });
});

Deno.test("a link or file planted at a temporary name is never followed nor used", async () => {
  await withTempDir(async (dir) => {
    const victim = `${dir}/victim`;
    Deno.writeTextFileSync(victim, "precious");
    const out = `${dir}/out.svg`;
    // The old predictable name.
    Deno.symlinkSync(victim, `${out}.tmp-${Deno.pid}`);
    // The name the writer will draw first, forced: a link there, then a planted file.
    const real = crypto.getRandomValues.bind(crypto);
    for (const plant of ["link", "file"]) {
      let first = true;
      crypto.getRandomValues = (<T extends ArrayBufferView | null>(array: T): T => {
        if (first && array instanceof Uint8Array) {
          first = false;
          array.fill(0xab);
          return array;
        }
        return real(array as Uint8Array) as unknown as T;
      }) as typeof crypto.getRandomValues;
      const planted = `${out}.${"ab".repeat(8)}.tmp`;
      if (plant === "link") Deno.symlinkSync(victim, planted);
      else Deno.writeTextFileSync(planted, "attacker's");
      try {
        await writeTextOutput(out, `<svg>${plant}</svg>`);
      } finally {
        crypto.getRandomValues = real;
      }
      assert.equal(read(out), `<svg>${plant}</svg>`);
      assert.equal(read(victim), "precious");
      if (plant === "link") assert.ok(Deno.lstatSync(planted).isSymlink, "the link is left alone");
      else assert.equal(read(planted), "attacker's", "the planted file is not used");
      Deno.removeSync(planted);
    }
    assert.ok(Deno.lstatSync(`${out}.tmp-${Deno.pid}`).isSymlink);
  });
});

Deno.test("an overwritten file keeps its mode, whatever the umask", async () => {
  await withTempDir(async (dir) => {
    const old = Deno.umask(0o077);
    try {
      for (const mode of [0o600, 0o640, 0o644, 0o664, 0o755]) {
        const out = `${dir}/m${mode.toString(8)}.svg`;
        Deno.writeTextFileSync(out, "old");
        Deno.chmodSync(out, mode);
        await writeTextOutput(out, "new");
        withByteOutput(out, (w) => w.write(encoder.encode("newer")));
        assert.equal(read(out), "newer");
        assert.equal(Deno.statSync(out).mode! & 0o777, mode, mode.toString(8));
      }
    } finally {
      Deno.umask(old);
    }
    // A new file gets 0666 less the umask, as any program's would.
    await writeTextOutput(`${dir}/new.svg`, "x");
    assert.equal(Deno.statSync(`${dir}/new.svg`).mode! & 0o777, 0o666 & ~old);
  });
  await guardsEnded();
});

Deno.test({
  name: "an overwritten file keeps its owner (root may give it back)",
  ignore: NOT_ROOT !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const out = `${dir}/owned.svg`;
      Deno.writeTextFileSync(out, "old");
      Deno.chownSync(out, 1234, 5678);
      Deno.chmodSync(out, 0o640);
      await writeTextOutput(out, "new");
      const info = Deno.statSync(out);
      assert.deepEqual([info.uid, info.gid, info.mode! & 0o777], [1234, 5678, 0o640]);
      assert.equal(read(out), "new");
    });
  },
});

Deno.test("a directory, a missing directory, a file in the path: one line naming the path", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/sub`);
    Deno.writeTextFileSync(`${dir}/file`, "x");
    const cases: [string, RegExp][] = [
      [`${dir}/sub`, /^cannot write .*\/sub: is a directory$/],
      [`${dir}/missing/out.svg`, /^cannot write .*: the directory .*\/missing does not exist$/],
      [`${dir}/file/out.svg`, /^cannot write .*\/file\/out\.svg: a part of the path is not a /],
    ];
    for (const [path, pattern] of cases) {
      await assert.rejects(writeTextOutput(path, "x"), isFlameError(pattern));
      await assert.rejects(writeOutput(path, (s) => s.write("x")), isFlameError(pattern));
      assert.throws(() => withByteOutput(path, () => {}), isFlameError(pattern));
      assert.throws(() => checkOutputPath(path), isFlameError(pattern));
    }
    assert.deepEqual(names(dir), ["file", "sub"]);
    assert.deepEqual(names(`${dir}/sub`), []);
  });
});

Deno.test("the producer's own errors pass through unchanged, and the old file stays", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out.folded`;
    Deno.writeTextFileSync(out, "old");
    const mine = new Error("the producer failed");
    await assert.rejects(
      writeOutput(out, async (s) => {
        await s.write("partial");
        throw mine;
      }),
      (e) => e === mine,
    );
    assert.throws(() =>
      withByteOutput(out, () => {
        throw mine;
      }), (e) => e === mine);
    assert.equal(read(out), "old");
    assert.deepEqual(names(dir), ["out.folded"]);
  });
  await guardsEnded();
});

Deno.test("/dev/full: no space left on device, in one line", async () => {
  await assert.rejects(
    writeTextOutput("/dev/full", "x".repeat(100)),
    isFlameError(/^cannot write \/dev\/full: no space left on device$/),
  );
  await assert.rejects(
    writeOutput("/dev/full", (s) => s.write("x")),
    isFlameError(/no space left on device/),
  );
});

Deno.test({
  name: "a full disk (a 64 KiB tmpfs): no space left, the old file kept, nothing left behind",
  ignore: TMPFS_UNAVAILABLE !== undefined, // TMPFS_UNAVAILABLE says why
  async fn() {
    const disk = mountTmpfs(64);
    if ("reason" in disk) throw new Error(disk.reason);
    try {
      const out = `${disk.path}/graph.svg`;
      Deno.writeTextFileSync(out, "old");
      const big = "<rect/>".repeat(40_000); // 280 KB
      const full = isFlameError(/^cannot write .*graph\.svg: no space left on device$/);
      await assert.rejects(writeTextOutput(out, big), full);
      await assert.rejects(
        writeOutput(out, async (s) => {
          for (let i = 0; i < 40_000; i++) await s.write("<rect/>");
        }),
        full,
      );
      assert.throws(() => withByteOutput(out, (w) => w.write(encoder.encode(big))), full);
      assert.equal(read(out), "old");
      assert.deepEqual(names(disk.path), ["graph.svg"]);
      // The recording kept with --keep-data: the copy fails, the original stays.
      await withTempDir(async (dir) => {
        const data = `${dir}/perf.data`;
        Deno.writeTextFileSync(data, big);
        await assert.rejects(keepFile(data, `${disk.path}/kept.data`), isFlameError(/no space/));
        assert.equal(read(data), big);
        assert.deepEqual(names(disk.path), ["graph.svg"]);
      });
    } finally {
      await guardsEnded();
      disk.unmount();
    }
  },
});

Deno.test({
  name: "a read-only file system (a tmpfs remounted ro): one line, found before recording",
  ignore: TMPFS_UNAVAILABLE !== undefined, // TMPFS_UNAVAILABLE says why
  async fn() {
    const disk = mountTmpfs(64, { readOnly: true });
    if ("reason" in disk) throw new Error(disk.reason);
    try {
      const out = `${disk.path}/graph.svg`;
      const ro = isFlameError(/^cannot write .*graph\.svg: read-only file system$/);
      assert.throws(() => checkOutputPath(out), ro);
      await assert.rejects(writeTextOutput(out, "x"), ro);
    } finally {
      disk.unmount();
    }
  },
});

Deno.test("checkOutputPath: passes what can be written, and leaves nothing behind", async () => {
  await withTempDir((dir) => {
    checkOutputPath(undefined);
    checkOutputPath("-");
    checkOutputPath(`${dir}/new.svg`);
    Deno.writeTextFileSync(`${dir}/old.svg`, "old");
    checkOutputPath(`${dir}/old.svg`);
    checkOutputPath("/dev/null");
    assert.equal(read(`${dir}/old.svg`), "old");
    assert.deepEqual(names(dir), ["old.svg"]);
  });
});

Deno.test("our own symbolic link is followed: its target is replaced, the link stays", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/www`);
    const real = `${dir}/www/graph.svg`;
    Deno.writeTextFileSync(real, "old");
    Deno.chmodSync(real, 0o600);
    Deno.symlinkSync(real, `${dir}/graph.svg`);
    await writeTextOutput(`${dir}/graph.svg`, "new");
    assert.ok(Deno.lstatSync(`${dir}/graph.svg`).isSymlink);
    assert.equal(read(real), "new");
    assert.equal(Deno.statSync(real).mode! & 0o777, 0o600);
    assert.deepEqual(names(`${dir}/www`), ["graph.svg"]);
    Deno.symlinkSync(`${dir}/nowhere`, `${dir}/dangling.svg`);
    await assert.rejects(
      writeTextOutput(`${dir}/dangling.svg`, "x"),
      isFlameError(/a symbolic link to a missing file/),
    );
  });
});

Deno.test({
  name: "another user's link in a shared sticky directory is not followed (nor for palette.map)",
  ignore: NOT_ROOT !== undefined,
  async fn() {
    await withTempDir(async (dir) => {
      const victim = `${dir}/passwd`;
      Deno.writeTextFileSync(victim, "root:x:0:0");
      const shared = `${dir}/shared`;
      Deno.mkdirSync(shared);
      Deno.chmodSync(shared, 0o1777);
      const plant = (name: string) => {
        Deno.symlinkSync(victim, `${shared}/${name}`);
        const r = new Deno.Command("chown", { args: ["-h", "1234:1234", `${shared}/${name}`] })
          .outputSync();
        assert.ok(r.success, "chown -h");
      };
      plant("flame.svg");
      await assert.rejects(
        writeTextOutput(`${shared}/flame.svg`, "<svg/>"),
        isFlameError(/symbolic link owned by another user in a shared directory/),
      );
      assert.throws(() => checkOutputPath(`${shared}/flame.svg`), FlameError);
      plant("palette.map");
      const { warnings } = renderSvg([{ stack: "a;b", count: 100 }], {
        cp: `${shared}/palette.map`,
      });
      assert.ok(warnings.some((w) => /cannot save the palette map/.test(w)), warnings.join());
      assert.equal(read(victim), "root:x:0:0");
      // In a directory that is not shared, a link of anyone's is followed, as `>` would.
      Deno.chmodSync(shared, 0o755);
      writeFileAtomic(`${shared}/palette.map`, "a->rgb(1,2,3)\n");
      assert.equal(read(victim), "a->rgb(1,2,3)\n");
    });
  },
});

Deno.test("palette.map is written atomically and keeps its mode", async () => {
  await withTempDir((dir) => {
    const map = `${dir}/palette.map`;
    Deno.writeTextFileSync(map, "lex->rgb(1,2,3)\n");
    Deno.chmodSync(map, 0o600);
    renderSvg([{ stack: "main;lex", count: 50 }, { stack: "main;parse", count: 50 }], { cp: map });
    assert.match(read(map), /^lex->rgb\(1,2,3\)$/m);
    assert.match(read(map), /^parse->rgb\(\d+,\d+,\d+\)$/m);
    assert.equal(Deno.statSync(map).mode! & 0o777, 0o600);
    assert.deepEqual(names(dir), ["palette.map"]);
  });
});

Deno.test("devices and descriptors are written directly, never replaced", async () => {
  await withTempDir(async (dir) => {
    await writeTextOutput("/dev/null", "x");
    await writeOutput("/dev/null", (s) => s.write("x"));
    withByteOutput("/dev/null", (w) => w.write(encoder.encode("x")));
    assert.ok(Deno.statSync("/dev/null").isCharDevice, "/dev/null is still a device");
    // A link to a device (as /dev/stdout is, through /proc/self/fd/1).
    Deno.symlinkSync("/dev/null", `${dir}/null`);
    await writeTextOutput(`${dir}/null`, "x");
    assert.ok(Deno.lstatSync(`${dir}/null`).isSymlink);
    assert.deepEqual(names(dir), ["null"]);
  });
  await guardsEnded();
});

Deno.test("removeTemporaryFiles removes the temporary files still open", async () => {
  await withTempDir(async (dir) => {
    const out = `${dir}/out.folded`;
    Deno.writeTextFileSync(out, "old");
    let during: string[] = [];
    await assert.rejects(writeOutput(out, async (s) => {
      await s.write("partial");
      during = names(dir);
      removeTemporaryFiles(); // as a signal handler does before it exits
    }));
    assert.equal(during.length, 2, during.join());
    assert.deepEqual(names(dir), ["out.folded"]);
    assert.equal(read(out), "old");
  });
});

Deno.test("keepFile moves a file: renamed on one file system", async () => {
  await withTempDir(async (dir) => {
    Deno.writeTextFileSync(`${dir}/perf.data`, "data");
    Deno.writeTextFileSync(`${dir}/kept.data`, "older");
    await keepFile(`${dir}/perf.data`, `${dir}/kept.data`);
    assert.deepEqual(names(dir), ["kept.data"]);
    assert.equal(read(`${dir}/kept.data`), "data");
    await assert.rejects(keepFile(`${dir}/perf.data`, `${dir}/x`), isFlameError(/no such file/));
  });
});

Deno.test({
  name: "keepFile across file systems copies, renames, and only then removes the original",
  ignore: TMPFS_UNAVAILABLE !== undefined, // TMPFS_UNAVAILABLE says why
  async fn() {
    const disk = mountTmpfs(1024);
    if ("reason" in disk) throw new Error(disk.reason);
    try {
      await withTempDir(async (dir) => {
        const data = "x".repeat(300_000);
        Deno.writeTextFileSync(`${dir}/perf.data`, data);
        Deno.writeTextFileSync(`${disk.path}/kept.data`, "older");
        Deno.chmodSync(`${disk.path}/kept.data`, 0o600);
        await keepFile(`${dir}/perf.data`, `${disk.path}/kept.data`);
        assert.deepEqual(names(dir), []);
        assert.deepEqual(names(disk.path), ["kept.data"]);
        assert.equal(read(`${disk.path}/kept.data`), data);
        assert.equal(Deno.statSync(`${disk.path}/kept.data`).mode! & 0o777, 0o600);
      });
    } finally {
      disk.unmount();
    }
  },
});
