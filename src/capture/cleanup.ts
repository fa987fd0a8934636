/**
 * Removing what a run left behind: the runtimes' perf maps (`/tmp/perf-PID.map`) and the V8 logs
 * that come with them (`isolate-0xADDR-PID-v8.log` in the working directory), Python's and V8's
 * jitdumps (`jit-PID.dump`), and the `jitted-PID-N.so` files `perf inject --jit` writes next to
 * them. Only for the PIDs flame recorded or started: other processes on the machine (other
 * users' profilers) own theirs, and a live process still writing its map must keep it.
 */

/** Where runtimes write perf maps and jitdumps: /tmp, and the working directory (jitdumps). */
export function runtimeFileDirs(): string[] {
  return ["/tmp", Deno.cwd()];
}

/** True when something exists at `path`. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Which kinds of files to remove. */
export interface ArtifactKinds {
  /** Perf maps and V8's logs. */
  maps: boolean;
  dumps: boolean;
  jitted: boolean;
}

/** Every kind: for processes flame started itself. */
export const ALL_ARTIFACTS: ArtifactKinds = { maps: true, dumps: true, jitted: true };

const ARTIFACT =
  /^(?:perf-(\d+)\.map|isolate-0x[0-9a-f]+-(\d+)(?:-\d+)?-v8\.log|jit-(\d+)\.dump|jitted-(\d+)-\d+\.so)$/;

/** The PID an artifact's name carries, or undefined for other names. */
export function artifactPid(name: string): number | undefined {
  const m = ARTIFACT.exec(name);
  return m ? Number(m[1] ?? m[2] ?? m[3] ?? m[4]) : undefined;
}

/** The names among `names` that are artifacts of the given kinds for one of `pids`. */
export function selectArtifacts(
  names: Iterable<string>,
  pids: ReadonlySet<number>,
  kinds: ArtifactKinds,
): string[] {
  const out: string[] = [];
  for (const name of names) {
    const m = ARTIFACT.exec(name);
    if (!m) continue;
    const pid = Number(m[1] ?? m[2] ?? m[3] ?? m[4]);
    if (!pids.has(pid)) continue;
    if (((m[1] || m[2]) && kinds.maps) || (m[3] && kinds.dumps) || (m[4] && kinds.jitted)) {
      out.push(name);
    }
  }
  return out;
}

/** The PID of a jitdump file name (`jit-123.dump`), or undefined. */
export function jitdumpPid(name: string): number | undefined {
  const m = /^jit-(\d+)\.dump$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Jitdumps in `dirs` written since `sinceMs` (epoch ms): a recorded runtime made them, so
 * `perf inject --jit` has work to do. perf inject itself only reads the dumps that recorded
 * processes mapped, so a stranger's dump here costs time, never correctness.
 */
export function recentJitdumps(dirs: string[], sinceMs: number): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isFile || jitdumpPid(entry.name) === undefined) continue;
        const path = `${dir}/${entry.name}`;
        const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
        if (mtime >= sinceMs - 1000) found.push(path);
      }
    } catch { /* unreadable directory: nothing of ours there */ }
  }
  return found;
}

/**
 * The PIDs of the artifacts in `dirs` written since `sinceMs` (epoch ms) that are not among
 * `known`: candidates for a run's processes that left files but no sample.
 */
export function recentArtifactPids(
  dirs: string[],
  sinceMs: number,
  known: ReadonlySet<number>,
): Set<number> {
  const found = new Set<number>();
  for (const dir of new Set(dirs)) {
    try {
      for (const entry of Deno.readDirSync(dir)) {
        const pid = entry.isFile ? artifactPid(entry.name) : undefined;
        if (pid === undefined || known.has(pid) || found.has(pid)) continue;
        const mtime = Deno.statSync(`${dir}/${entry.name}`).mtime?.getTime() ?? 0;
        if (mtime >= sinceMs - 1000) found.add(pid);
      }
    } catch { /* unreadable directory: nothing of ours there */ }
  }
  return found;
}

/** Removes the artifacts of `pids` in `dirs`; returns how many files went. Never throws. */
export function removeArtifacts(
  dirs: string[],
  pids: ReadonlySet<number>,
  kinds: ArtifactKinds,
): number {
  if (pids.size === 0) return 0;
  let removed = 0;
  for (const dir of new Set(dirs)) {
    let names: string[];
    try {
      names = [...Deno.readDirSync(dir)].filter((e) => e.isFile).map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of selectArtifacts(names, pids, kinds)) {
      try {
        Deno.removeSync(`${dir}/${name}`);
        removed++;
      } catch { /* gone already, or not ours to remove */ }
    }
  }
  return removed;
}

/** Removes a directory tree, ignoring errors (the temp directory of a run). */
export function removeTree(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch { /* already gone */ }
}
