/**
 * The launcher `make build` writes where `deno compile` cannot run: it unpacks once into a cache
 * directory of the user's own, keeps one copy, and works without a writable home.
 */
import assert from "node:assert/strict";
import { flameBinary, withTempDir } from "./helpers.ts";

/** True when dist/flame is the self-extracting launcher (not a `deno compile` binary). */
async function isLauncher(): Promise<boolean> {
  const file = await Deno.open(await flameBinary());
  const head = new Uint8Array(2);
  await file.read(head);
  file.close();
  return new TextDecoder().decode(head) === "#!";
}

async function version(env: Record<string, string>) {
  const out = await new Deno.Command(await flameBinary(), {
    args: ["--version"],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A HOME nobody can make ~/.cache in, not even root. */
const UNWRITABLE_HOME = "/proc";

const launcher = await isLauncher();
const ignore = !launcher; // a compiled binary has nothing to unpack

Deno.test({
  name: "launcher: no writable home: unpacks into a private directory under TMPDIR",
  ignore,
  async fn() {
    await withTempDir(async (dir) => {
      const r = await version({ HOME: UNWRITABLE_HOME, TMPDIR: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^flame /);
      const base = `${dir}/flame-cache-${Deno.uid()}`;
      const info = Deno.lstatSync(base);
      assert.ok(info.isDirectory);
      assert.equal(info.mode! & 0o777, 0o700);
      assert.equal([...Deno.readDirSync(base)].filter((e) => !e.name.startsWith(".")).length, 1);
    });
  },
});

Deno.test({
  name: "launcher: a planted link in place of the cache directory is refused in one line",
  ignore,
  async fn() {
    await withTempDir(async (dir) => {
      Deno.mkdirSync(`${dir}/elsewhere`);
      Deno.symlinkSync(`${dir}/elsewhere`, `${dir}/flame-cache-${Deno.uid()}`);
      const r = await version({ HOME: UNWRITABLE_HOME, TMPDIR: dir });
      assert.equal(r.code, 70);
      assert.match(r.stderr, /^flame: no cache directory to unpack into/);
      assert.deepEqual([...Deno.readDirSync(`${dir}/elsewhere`)], []);
    });
  },
});

Deno.test({
  name: "launcher: one copy is kept; copies unused for 10 minutes and cut-short unpacks go",
  ignore,
  async fn() {
    await withTempDir(async (dir) => {
      const base = `${dir}/flame`;
      Deno.mkdirSync(`${base}/0123456789abcdef`, { recursive: true });
      Deno.writeTextFileSync(`${base}/0123456789abcdef/deno`, "an older build");
      Deno.mkdirSync(`${base}/.unpack.AbCdEfGh`);
      // A build that ran a minute ago may be running still: it stays.
      Deno.mkdirSync(`${base}/fedcba9876543210`);
      Deno.writeTextFileSync(`${base}/fedcba9876543210/.used`, "");
      Deno.utimeSync(`${base}/fedcba9876543210/.used`, new Date(), new Date(Date.now() - 60_000));
      const hourAgo = new Date(Date.now() - 3600_000);
      Deno.writeTextFileSync(`${base}/0123456789abcdef/.used`, "");
      Deno.utimeSync(`${base}/0123456789abcdef/.used`, hourAgo, hourAgo);
      const r = await version({ XDG_CACHE_HOME: dir });
      assert.equal(r.code, 0, r.stderr);
      const left = [...Deno.readDirSync(base)].map((e) => e.name).filter((n) => n !== ".lock");
      assert.equal(left.length, 2, left.join(" "));
      assert.ok(left.includes("fedcba9876543210"));
      assert.ok(!left.includes("0123456789abcdef"));
    });
  },
});

Deno.test({
  name: "launcher: three first runs at once unpack one copy, and all three run",
  ignore,
  async fn() {
    await withTempDir(async (dir) => {
      const runs = await Promise.all([1, 2, 3].map(() => version({ XDG_CACHE_HOME: dir })));
      for (const r of runs) assert.equal(r.code, 0, r.stderr);
      const left = [...Deno.readDirSync(`${dir}/flame`)].map((e) => e.name);
      assert.deepEqual(left.filter((n) => n !== ".lock").length, 1, left.join(" "));
    });
  },
});
