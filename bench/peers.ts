/**
 * What the Python benchmarks (python.ts, splice.ts) share: pyenv's interpreters, py-spy for
 * comparison (installed into bench/data/py-spy-venv on first use, never a dependency of flame
 * or its tests), and the median of runs.
 */

const DATA = new URL("./data/", import.meta.url).pathname;

/** pyenv's interpreter of `version` (`3.12.1` → …/versions/3.12.1/bin/python3.12). */
export function pyenvPython(version: string): string {
  const root = new TextDecoder().decode(
    new Deno.Command("pyenv", { args: ["root"], stdout: "piped" }).outputSync().stdout,
  ).trim();
  const [major, minor] = version.split(".");
  return `${root}/versions/${version}/bin/python${major}.${minor}`;
}

/** py-spy's executable, installed with pip into a venv of bench/data/ first; undefined if that failed. */
export function pySpy(): string | undefined {
  const venv = `${DATA}py-spy-venv`;
  const exe = `${venv}/bin/py-spy`;
  try {
    Deno.statSync(exe);
    return exe;
  } catch { /* install it */ }
  Deno.mkdirSync(DATA, { recursive: true });
  const made = new Deno.Command("python3", { args: ["-m", "venv", venv] }).outputSync();
  if (!made.success) return undefined;
  const pip = new Deno.Command(`${venv}/bin/pip`, { args: ["install", "-q", "py-spy"] })
    .outputSync();
  return pip.success ? exe : undefined;
}

/** The median of `xs` (the upper one of an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
