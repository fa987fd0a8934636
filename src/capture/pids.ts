/**
 * The process name, PID, TID and time of a `perf script` sample header (`comm PID/TID [CPU]
 * TIME: PERIOD EVENT:`). The process name may hold spaces and digits, so the fields are found
 * by what follows them.
 */

const HEADER = / +(\d+)\/(\d+) +(?:\[\d+\] +)?(\d+)\.(\d+):/;

/** What a sample header says of where and when the sample was taken. */
export interface SampleHeader {
  /** The thread's name (`comm`), as perf printed it. */
  comm: string;
  pid: number;
  tid: number;
  /** The time in whole nanoseconds (perf's clock, CLOCK_MONOTONIC with `-k 1`). */
  timeNs: number;
}

/** The process name, PID, TID and time of a header line, or undefined. */
export function parseHeaderLine(line: string): SampleHeader | undefined {
  const m = HEADER.exec(line);
  if (m === null) return undefined;
  return {
    comm: line.slice(0, m.index).trim(),
    pid: Number(m[1]),
    tid: Number(m[2]),
    timeNs: Number(m[3]) * 1e9 + Number(m[4].padEnd(9, "0").slice(0, 9)),
  };
}
