/**
 * What `flame run`, `flame record` and `flame report` do with a capture: write the graph (and
 * the folded stacks when asked), say how the program ended, print one summary line, open the
 * graph if asked, and exit with the program's status.
 */
import { groupDigits } from "../format.ts";
import { info, warn } from "../log.ts";
import type { Profile } from "../profile/profile.ts";
import { type Palette, renderFoldedStacks, type RenderOptions } from "../render/mod.ts";
import { writeFolded } from "../folded/stacks.ts";
import { writeOutput, writeTextOutput } from "../io/output.ts";
import type { CaptureResult } from "../capture/mod.ts";
import type { RuntimeKind } from "../capture/runtime.ts";
import type { ProfileSettings } from "./profile.ts";

/** Writes the capture's outputs and ends the command; resolves to flame's exit status. */
export async function deliverCapture(
  result: CaptureResult,
  settings: ProfileSettings,
): Promise<number> {
  const render: Partial<RenderOptions> = {
    title: result.title,
    subtitle: result.subtitle,
    countName: result.profile.unit === "nanoseconds" ? "ns" : undefined,
    ...settings.render,
  };
  if (!settings.paletteGiven) render.colors = paletteFor(result.runtimes);
  await writeProfile(result.profile, render, settings);
  if (result.ending?.warning) warn(result.ending.warning);
  info(summaryLine(result.samples, result.seconds, settings.output));
  if (settings.open) await openFile(settings.output);
  return result.ending?.code ?? 0;
}

/** The palette for the runtimes a profile holds: the runtime's own when there is one. */
export function paletteFor(runtimes: RuntimeKind[]): Palette {
  const distinct = [...new Set(runtimes.filter((k) => k !== "native"))];
  if (distinct.length !== 1) return "hot";
  return ({ python: "python", node: "js", deno: "js", java: "java", native: "hot" } as const)[
    distinct[0]
  ];
}

/** Renders the profile and writes the SVG, and the folded stacks when asked. */
export async function writeProfile(
  profile: Profile,
  render: Partial<RenderOptions>,
  settings: Pick<ProfileSettings, "output" | "folded">,
): Promise<void> {
  const result = renderFoldedStacks(profile.stacks, render);
  for (const w of result.warnings) warn(w);
  writeTextOutput(settings.output, result.svg);
  if (settings.folded) {
    await writeOutput(settings.folded, (out) => writeFolded(profile.stacks, out));
  }
}

/** The one-line summary every capture ends with. */
export function summaryLine(samples: number, seconds: number, output: string): string {
  const s = samples === 1 ? "sample" : "samples";
  const secs = seconds.toFixed(seconds >= 10 ? 0 : seconds >= 1 ? 1 : 2);
  return `${groupDigits(samples)} ${s} in ${secs} s → ${output}: open it in a browser`;
}

/** How long an opener may take to say it failed (xdg-open hands off and returns quickly). */
const OPENER_WAIT_MS = 5000;

/**
 * Opens a file with the desktop's opener (xdg-open, open). Warns, with what to do instead, when
 * there is none or it fails (a server has no browser to hand the file to).
 */
export async function openFile(path: string): Promise<void> {
  const opener = Deno.build.os === "darwin" ? "open" : "xdg-open";
  const fallback = `open ${path} in a web browser`;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opener, {
      args: [path],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
  } catch {
    warn(`--open: ${opener} is not installed (no desktop here?): ${fallback}`);
    return;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = await Promise.race([
    child.status,
    new Promise<undefined>((resolve) =>
      timer = setTimeout(() => resolve(undefined), OPENER_WAIT_MS)
    ),
  ]);
  clearTimeout(timer);
  if (waited === undefined) {
    child.unref(); // still handing the file over: let it finish on its own
    return;
  }
  if (!waited.success) {
    warn(`--open: ${opener} could not open it (exit status ${waited.code}): ${fallback}`);
  }
}
