/**
 * `/proc/PID/maps`: which file is mapped where, so a symbol's file address becomes its address
 * in the process (the load bias).
 */

/** One line of /proc/PID/maps. */
export interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** Offset in the file of the mapping's first byte. */
  offset: number;
  inode: number;
  /** The mapped file's path, a pseudo-name (`[heap]`, `[stack]`), or "" for anonymous memory. */
  path: string;
}

/** Parses the text of /proc/PID/maps. Lines that do not parse are skipped. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ (\d+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      perms: m[3],
      offset: parseInt(m[4], 16),
      inode: Number(m[5]),
      path: m[6],
    });
  }
  return out;
}
