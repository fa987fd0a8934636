/**
 * `--inline`: expands a frame into the functions the compiler inlined at its address, by asking
 * `addr2line -a PC -e MODULE -i -f -s -C` (as stackcollapse-perf.pl does), with a bounded cache
 * per address and module, and the same `nm` fallback for addresses addr2line cannot place.
 */

/** Runs a program synchronously and returns its standard output ("" when it cannot run). */
export type RunTool = (program: string, args: string[]) => string;

/** Runs `program` with Deno.Command, discarding stderr; "" when it is missing or fails. */
export function runTool(program: string, args: string[]): string {
  try {
    const out = new Deno.Command(program, { args, stdout: "piped", stderr: "null", stdin: "null" })
      .outputSync();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

/** True when `path` is a regular file. */
function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** perf maps and the kernel: modules addr2line cannot read. */
const NOT_A_FILE = /perf-\d+.map|kernel\./;

/**
 * True for a module with a `[name]` in it (`[vdso]`, `[kernel.kallsyms]`): perf's pseudo
 * modules. Perl's `\[[^\]]+\]`, scanned once (the expression is quadratic on many `[`).
 */
function hasBracketedName(module: string): boolean {
  let open = module.indexOf("[");
  let close = module.indexOf("]");
  // Both only move forward: one pass.
  while (open !== -1 && close !== -1) {
    if (close < open) {
      close = module.indexOf("]", open);
    } else if (close > open + 1) {
      return true; // `close` is the first `]` after `open`, with a name between
    } else {
      open = module.indexOf("[", open + 1); // `[]`
    }
  }
  return false;
}

/** Entries kept in each cache before it is cleared (memory stays bounded). */
const CACHE_LIMIT = 50_000;
/** Modules whose `nm` symbol tables are kept at once. */
const NM_LIMIT = 8;

/**
 * Turns addr2line's output (after its first line, the address) into frames, outermost first,
 * joined by `;`: each function, with `:file:line` appended when `context` is set.
 */
export function parseAddr2line(output: string, context: boolean): string {
  const lines = output.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const frames: string[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const func = dropDiscriminator(lines[i]);
    const where = dropDiscriminator(lines[i + 1]);
    frames.unshift(context ? `${func}:${where}` : func);
  }
  return frames.join(";");
}

function dropDiscriminator(line: string): string {
  return line.replace(/ \(discriminator [^ \t\n\v\f\r]+\)/, "");
}

/** Resolves inlined frames with addr2line. One instance per collapse. */
export class InlineResolver {
  readonly #cache = new Map<string, string>();
  readonly #nm = new Map<string, string>();
  readonly #readable = new Map<string, boolean>();

  readonly #run: RunTool;
  readonly #exists: (path: string) => boolean;

  /**
   * `context` appends `:file:line` to each frame. `tools` replaces how programs are run and
   * files are checked (tests).
   */
  constructor(
    private readonly context: boolean,
    tools: { run?: RunTool; exists?: (path: string) => boolean } = {},
  ) {
    this.#run = tools.run ?? runTool;
    this.#exists = tools.exists ?? isFile;
  }

  /** True when `module` may be given to addr2line. */
  applies(module: string): boolean {
    return !NOT_A_FILE.test(module) && !hasBracketedName(module) && module !== "inlined" &&
      this.#isFile(module);
  }

  /**
   * The inlined frames at `pc` in `module`, outermost first and joined by `;`, or "" / "??"
   * when addr2line knows nothing (the caller then keeps perf's own frame). `rawSym` is perf's
   * symbol with its `+0x` offset, used for the nm fallback.
   */
  resolve(pc: string, rawSym: string, module: string): string {
    const key = `${module}\0${pc}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    const result = this.#lookup(pc, rawSym, module);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(key, result);
    return result;
  }

  #lookup(pc: string, rawSym: string, module: string): string {
    const output = this.#run("addr2line", ["-a", pc, "-e", module, "-i", "-f", "-s", "-C"]);
    const body = output.slice(output.indexOf("\n") + 1);
    if (output.includes("\n") && body.includes("??\n??:0")) {
      // addr2line could not place the address (e.g. a relocated object): find the symbol's
      // start with nm and ask again at start + offset.
      const m = /^(.+)\+0x([0-9a-f]+)$/.exec(rawSym);
      const base = m ? this.#symbolAddress(module, m[1]) : undefined;
      if (m && base !== undefined) {
        const newPc = "0x" + (BigInt("0x" + base) + BigInt("0x" + m[2])).toString(16);
        return this.resolve(newPc, "", module);
      }
    }
    return output.includes("\n") ? parseAddr2line(body, this.context) : "";
  }

  #symbolAddress(module: string, func: string): string | undefined {
    let table = this.#nm.get(module);
    if (table === undefined) {
      table = this.#run("nm", [module]);
      if (this.#nm.size >= NM_LIMIT) this.#nm.clear();
      this.#nm.set(module, table);
    }
    for (const line of table.split("\n")) {
      // `ADDRESS TYPE NAME`
      const m = /^([0-9a-f]+) . (.*)$/.exec(line);
      if (m && m[2] === func) return m[1];
    }
    return undefined;
  }

  #isFile(module: string): boolean {
    let ok = this.#readable.get(module);
    if (ok === undefined) {
      ok = this.#exists(module);
      if (this.#readable.size >= CACHE_LIMIT) this.#readable.clear();
      this.#readable.set(module, ok);
    }
    return ok;
  }
}
