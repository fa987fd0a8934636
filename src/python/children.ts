/**
 * A process's children and descendants: for following the Python processes a program starts
 * (multiprocessing workers, a shell script that runs python), and the program perf starts. Uses
 * `/proc/PID/task/TID/children` where the kernel has it, else a scan of every `/proc/N/stat`.
 */

function childrenFile(pid: number): number[] | undefined {
  let tasks: Deno.DirEntry[];
  try {
    tasks = [...Deno.readDirSync(`/proc/${pid}/task`)];
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const t of tasks) {
    let text: string;
    try {
      text = Deno.readTextFileSync(`/proc/${pid}/task/${t.name}/children`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound && t.name === String(pid)) return undefined;
      continue;
    }
    for (const w of text.split(" ")) if (w.trim() !== "") out.push(Number(w));
  }
  return out;
}

/** Parent of every process, from /proc/N/stat (field 4). */
function parents(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      let list = byParent.get(ppid);
      if (!list) byParent.set(ppid, list = []);
      list.push(Number(e.name));
    } catch { /* gone */ }
  }
  return byParent;
}

/** The child processes of `pid` (none once it has exited). */
export function childPids(pid: number): number[] {
  return childrenFile(pid) ?? parents().get(pid) ?? [];
}

/** Every descendant of `pids` (children, grandchildren, ...), not including `pids`. */
export function descendants(pids: readonly number[]): number[] {
  const out: number[] = [];
  const seen = new Set(pids);
  let byParent: Map<number, number[]> | undefined;
  const queue = [...pids];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    let kids = childrenFile(pid);
    if (kids === undefined) kids = (byParent ??= parents()).get(pid) ?? [];
    for (const k of kids) {
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(k);
      queue.push(k);
    }
  }
  return out;
}
