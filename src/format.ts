/** Number formatting shared by every stage (no ICU: its first call costs tens of milliseconds). */

/** An integer with thousands separators, as `toLocaleString("en-US")` writes it: `5,858,839,863`. */
export function groupDigits(n: number): string {
  const s = String(Math.abs(Math.trunc(n)));
  let grouped = s;
  for (let i = s.length - 3; i > 0; i -= 3) grouped = `${grouped.slice(0, i)},${grouped.slice(i)}`;
  return n < 0 ? "-" + grouped : grouped;
}
