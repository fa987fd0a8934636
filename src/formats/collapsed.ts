/**
 * The text formats the collapsers read (perf script, DTrace, folded stacks) as profile readers:
 * the collapser streams the input into folded stacks, and the frame names say what they can of
 * each frame's kind, file and line.
 */
import { FlameError } from "../errors.ts";
import { collapseInput } from "../collapse/stream.ts";
import { type Collapser, InputFormatError } from "../collapse/types.ts";
import { emptyProfile, type Profile } from "../profile/profile.ts";
import type { FormatInput, ReadResult } from "./format.ts";
import { asCollapseInput } from "./input.ts";
import { describeFrames } from "./frames.ts";

/**
 * Streams `input` through `collapser` into a profile of samples. What the collapser says of its
 * frames is kept (perf's: kind, module, file and line); the names describe the rest.
 */
export async function collapseToProfile(
  input: FormatInput,
  collapser: Collapser,
  producer: string,
): Promise<ReadResult> {
  let result;
  try {
    result = await collapseInput(asCollapseInput(input), () => collapser);
  } catch (err) {
    if (err instanceof InputFormatError) throw new FlameError(`${input.name}: ${err.message}`);
    throw err;
  }
  const profile: Profile = emptyProfile("samples", { name: input.name, producer });
  for (const [stack, count] of result.stacks) profile.stacks.set(stack, count);
  for (const [name, info] of result.frames ?? []) profile.frames.set(name, info);
  describeFrames(profile);
  return { profile, warnings: result.warnings };
}
