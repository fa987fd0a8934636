/**
 * flame: a program, a recording or folded stacks in, an interactive flame graph out.
 * This file is the binary's entry point; the CLI lives in `src/cli/`.
 */
import { main } from "./src/cli/main.ts";

Deno.exit(await main(Deno.args));
