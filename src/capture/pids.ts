/**
 * The PID and time of a `perf script` sample header (`comm PID/TID [CPU] TIME: PERIOD EVENT:`).
 * The process name may hold spaces and digits, so the fields are found by what follows them.
 */

const HEADER = / +(\d+)\/\d+ +(?:\[\d+\] +)?(\d+\.\d+):/;

/** The PID in a `perf script` header line, or undefined when the line is not a header. */
export function headerPid(line: string): number | undefined {
  const m = HEADER.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** The PID and the time (seconds) of a header line, or undefined. */
export function parseHeaderLine(line: string): { pid: number; time: number } | undefined {
  const m = HEADER.exec(line);
  return m ? { pid: Number(m[1]), time: Number(m[2]) } : undefined;
}
