/**
 * DTrace aggregation output in (`dtrace -n 'profile-997 { @[ustack()] = count(); }'`): folded by
 * the DTrace collapser. `module`function` frames keep only the function, so frames are
 * described by their names.
 */
import { detectFormat } from "../collapse/detect.ts";
import { DtraceCollapser } from "../collapse/dtrace.ts";
import { collapseToProfile } from "./collapsed.ts";
import type { ProfileReader } from "./format.ts";
import { HEAD_BYTES } from "./input.ts";

/** The DTrace reader. */
export const dtraceReader: ProfileReader = {
  name: "dtrace",
  description: "DTrace stack aggregations (@[ustack()] = count())",
  detect: (head, text) => detectFormat(text, head.length < HEAD_BYTES) === "dtrace",
  read: (input, options) =>
    collapseToProfile(
      input,
      new DtraceCollapser({ includeOffset: options.includeOffset ?? false }),
      "dtrace",
    ),
};
