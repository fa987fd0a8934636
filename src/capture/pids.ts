/**
 * The PID in a `perf script` sample header (`comm PID/TID [CPU] TIME: PERIOD EVENT:`). The
 * process name may hold spaces and digits, so the PID is found by what follows it.
 */

const HEADER_PID = / +(\d+)\/\d+ +(?:\[\d+\] +)?\d+\.\d+:/;

/** The PID in a `perf script` header line, or undefined when the line is not a header. */
export function headerPid(line: string): number | undefined {
  const m = HEADER_PID.exec(line);
  return m ? Number(m[1]) : undefined;
}
