/**
 * Opening inputs: a file path or `-` for stdin, as a byte stream, with one-line errors.
 */
import { describeFileError } from "../errors.ts";

/** An opened input: its bytes, a name for messages, and its size when known. */
export interface Input {
  name: string;
  readable: ReadableStream<Uint8Array>;
  /** Bytes in the file, or undefined for pipes and stdin. */
  size?: number;
}

/** Opens `path` (or stdin for `-` / undefined). Throws a FlameError naming the file. */
export async function openInput(path: string | undefined): Promise<Input> {
  if (path === undefined || path === "-") {
    return { name: "<stdin>", readable: Deno.stdin.readable };
  }
  try {
    const file = await Deno.open(path, { read: true });
    const stat = await file.stat();
    if (stat.isDirectory) {
      file.close();
      throw new Deno.errors.IsADirectory(path);
    }
    return { name: path, readable: file.readable, size: stat.isFile ? stat.size : undefined };
  } catch (err) {
    throw describeFileError(path, err);
  }
}

/**
 * Splits streamed text into lines (without the `\n`, and without a `\r` before it), calling
 * `onLine` with each line and its 1-based number. A last line without a newline is passed too.
 */
export class LineSplitter {
  #rest = "";
  #lineNo = 0;

  constructor(private readonly onLine: (line: string, lineNo: number) => void) {}

  /** Feeds a chunk of text. */
  push(chunk: string): void {
    const s = this.#rest === "" ? chunk : this.#rest + chunk;
    let start = 0;
    for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", start)) {
      const end = i > start && s.charCodeAt(i - 1) === 13 ? i - 1 : i;
      this.onLine(s.slice(start, end), ++this.#lineNo);
      start = i + 1;
    }
    this.#rest = s.slice(start);
  }

  /** Ends the input; passes a final unterminated line, if any. */
  end(): void {
    if (this.#rest !== "") {
      const r = this.#rest;
      this.#rest = "";
      this.onLine(r.endsWith("\r") ? r.slice(0, -1) : r, ++this.#lineNo);
    }
  }

  /** Lines seen so far. */
  get lineCount(): number {
    return this.#lineNo;
  }
}
