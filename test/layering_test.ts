/**
 * The data flows one way: main.ts → src/cli/ → libraries. A library that imports the CLI would
 * tie it to option parsing and printing; errors and logging sit below everything.
 */
import assert from "node:assert/strict";
import { repoPath } from "./helpers.ts";

/** Every `.ts` file under `dir` (relative to the repository), recursively. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(repoPath(dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...sources(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** The relative module specifiers a source file imports (static and dynamic). */
function imports(path: string): string[] {
  const text = Deno.readTextFileSync(repoPath(path));
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) found.push(m[1]);
  return found;
}

Deno.test("libraries never import src/cli/", () => {
  const offenders = sources("src")
    .filter((path) => !path.startsWith("src/cli/"))
    .flatMap((path) =>
      imports(path)
        .filter((spec) => new URL(spec, `file:///${path}`).pathname.startsWith("/src/cli/"))
        .map((spec) => `${path} imports ${spec}`)
    );
  assert.deepEqual(offenders, []);
});

Deno.test("errors and logging import nothing of the project", () => {
  for (const path of ["src/errors.ts", "src/log.ts"]) {
    assert.deepEqual(imports(path), [], `${path} must sit below everything`);
  }
});
