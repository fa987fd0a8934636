/**
 * Helpers for the output tests: a small tmpfs (a real full or read-only disk) where the tests
 * may mount one, and the files a directory holds.
 */

/** A mounted tmpfs, or why none could be mounted here. */
export type Tmpfs = { path: string; unmount(): void } | { reason: string };

function run(cmd: string, args: string[]): { ok: boolean; stderr: string } {
  const out = new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).outputSync();
  return { ok: out.success, stderr: new TextDecoder().decode(out.stderr).trim() };
}

/**
 * Mounts a tmpfs of `kib` KiB (read-only when asked) at a new directory under the system's
 * temporary directory. Needs root and a kernel that lets this process mount.
 */
export function mountTmpfs(kib: number, { readOnly = false } = {}): Tmpfs {
  if (Deno.uid() !== 0) return { reason: "mounting a tmpfs needs root" };
  const path = Deno.makeTempDirSync({ prefix: "flame-tmpfs-" });
  const mounted = run("mount", ["-t", "tmpfs", "-o", `size=${kib}k,mode=0755`, "tmpfs", path]);
  if (!mounted.ok) {
    Deno.removeSync(path);
    return { reason: `mount -t tmpfs failed here: ${mounted.stderr}` };
  }
  const unmount = () => {
    run("umount", [path]);
    Deno.removeSync(path);
  };
  if (readOnly && !run("mount", ["-o", "remount,ro", path]).ok) {
    unmount();
    return { reason: "remounting a tmpfs read-only failed here" };
  }
  return { path, unmount };
}

/** Why a tmpfs cannot be mounted here, or undefined when one can (probed once). */
export const TMPFS_UNAVAILABLE: string | undefined = (() => {
  const t = mountTmpfs(64);
  if ("reason" in t) return t.reason;
  t.unmount();
  return undefined;
})();

/** The names in a directory, sorted. */
export function names(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}
