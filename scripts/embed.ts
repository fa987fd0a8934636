/**
 * Embeds the in-browser script (src/render/browser/flamegraph.js) into a generated TypeScript
 * module, so `deno bundle` and `deno compile` carry it without reading files at run time.
 *
 *   deno run -A scripts/embed.ts          regenerate src/render/browser_script.ts
 *   deno run -A scripts/embed.ts --check  exit 1 when the generated module is stale
 */

const SOURCE = new URL("../src/render/browser/flamegraph.js", import.meta.url);
const TARGET = new URL("../src/render/browser_script.ts", import.meta.url);

const WORD = /[A-Za-z0-9_$]/;
// Short words a generated name must not be: keywords and the like.
const RESERVED = new Set([
  "as",
  "do",
  "if",
  "in",
  "of",
  "for",
  "get",
  "int",
  "let",
  "new",
  "set",
  "try",
  "var",
]);
// After these characters a "/" starts a regular expression, not a division.
const BEFORE_REGEX = "(,=:[!&|?{};";

/**
 * Short names for the script's own declarations (`const`, `let`, `function`, parameters are
 * left alone), avoiding every word the script uses anywhere, so no global, property or other
 * name can be captured. Only words never used as property names qualify.
 */
export function shortNames(source: string): Map<string, string> {
  const code = source.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\/\/[^\n]*/g, '""');
  const words = new Set(code.match(/[A-Za-z_$][\w$]*/g) ?? []);
  const properties = new Set([...code.matchAll(/\.\s*([A-Za-z_$][\w$]*)/g)].map((m) => m[1]));
  const keys = new Set([...code.matchAll(/[{,]\s*([A-Za-z_$][\w$]*)\s*:/g)].map((m) => m[1]));
  const declared = [...code.matchAll(/\b(?:const|let|function)\s+([A-Za-z_$][\w$]*)/g)]
    .map((m) => m[1])
    .filter((w) => w.length > 2 && !properties.has(w) && !keys.has(w));
  const map = new Map<string, string>();
  let k = 0;
  const next = () => {
    for (;;) {
      let name = "";
      for (let x = k++;; x = Math.floor(x / 26) - 1) {
        name = String.fromCharCode(97 + (x % 26)) + name;
        if (x < 26) break;
      }
      if (!words.has(name) && !RESERVED.has(name) && name.length > 1) return name;
    }
  };
  for (const w of new Set(declared)) map.set(w, next());
  return map;
}

/**
 * Shrinks the script: drops comments and every space no token needs, and shortens the script's
 * own names (see shortNames). Strings and regular expressions are copied verbatim. The script
 * must not use template literals (refused here) and ends statements with semicolons, never
 * with line ends alone (deno fmt writes it so).
 */
export function compactScript(source: string): string {
  const rename = shortNames(source);
  let out = "";
  let space = ""; // whitespace seen since the last token: "", " " or "\n"
  let i = 0;
  const n = source.length;
  const emit = (token: string) => {
    if (space) {
      const prev = out[out.length - 1] ?? "";
      const next = token[0];
      const merge = (WORD.test(prev) && WORD.test(next)) ||
        ((prev === "+" || prev === "-") && prev === next);
      if (merge) out += space;
      space = "";
    }
    out += token;
  };
  while (i < n) {
    const c = source[i];
    if (c === "\n" || c === " " || c === "\t" || c === "\r") {
      if (c === "\n") space = "\n";
      else if (!space) space = " ";
      i++;
    } else if (c === "/" && source[i + 1] === "/") {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === "/" && source[i + 1] === "*") {
      const end = source.indexOf("*/", i + 2);
      if (end === -1) throw new Error("flamegraph.js: unterminated comment");
      i = end + 2;
    } else if (c === "`") {
      throw new Error("flamegraph.js must not use template literals");
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && source[j] !== c) j += source[j] === "\\" ? 2 : 1;
      emit(source.slice(i, j + 1));
      i = j + 1;
    } else if (c === "/" && (out.trimEnd() === "" || BEFORE_REGEX.includes(lastToken(out)))) {
      let j = i + 1;
      let inClass = false;
      while (j < n && (source[j] !== "/" || inClass)) {
        if (source[j] === "\\") j++;
        else if (source[j] === "[") inClass = true;
        else if (source[j] === "]") inClass = false;
        j++;
      }
      j++;
      while (j < n && /[a-z]/.test(source[j])) j++;
      emit(source.slice(i, j));
      i = j;
    } else if (WORD.test(c)) {
      let j = i + 1;
      while (j < n && WORD.test(source[j])) j++;
      const word = source.slice(i, j);
      // A word after "." is a property: never renamed (shortNames excludes such words anyway).
      const short = lastToken(out) === "." ? undefined : rename.get(word);
      emit(short ?? word);
      i = j;
    } else {
      emit(c);
      i++;
    }
  }
  // The script sits in a CDATA section: it must never close it.
  if (out.includes("]]>")) throw new Error("flamegraph.js must not contain ']]>'");
  return out;
}

function lastToken(out: string): string {
  return out.trimEnd().slice(-1);
}

/** The generated module's text for a script source, formatted as `deno fmt` would. */
export async function embeddedModule(source: string): Promise<string> {
  const text = `// Generated by scripts/embed.ts from src/render/browser/flamegraph.js: do not edit.
// Run \`deno run -A scripts/embed.ts\` after changing the script.

/** The in-browser script embedded into every SVG (compacted). */
export const BROWSER_SCRIPT = ${JSON.stringify(compactScript(source))};
`;
  return await denoFmt(text);
}

/** Formats TypeScript text with this Deno's formatter (so `deno fmt --check` agrees). */
async function denoFmt(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=ts", "-"],
    cwd: new URL("..", import.meta.url).pathname,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

if (import.meta.main) {
  const wanted = await embeddedModule(await Deno.readTextFile(SOURCE));
  let current = "";
  try {
    current = await Deno.readTextFile(TARGET);
  } catch { /* not generated yet */ }
  if (Deno.args.includes("--check")) {
    if (current !== wanted) {
      console.error("src/render/browser_script.ts is stale: run deno run -A scripts/embed.ts");
      Deno.exit(1);
    }
  } else if (current !== wanted) {
    await Deno.writeTextFile(TARGET, wanted);
    console.log("wrote src/render/browser_script.ts");
  }
}
