/**
 * What `flame run`, `flame record` and `flame report` do with a capture: write the profile in
 * the format asked for (and the folded stacks when asked), say how the program ended, show the
 * functions with the most self time on a terminal, print one summary line, push the profile if
 * asked, open the graph if asked, and exit with the program's status.
 */
import { plural, tableLines } from "../format.ts";
import { info, showable, sink, stderrIsTerminal, warn } from "../log.ts";
import type { Palette, RenderOptions } from "../render/mod.ts";
import { writeProfile, writerByName } from "../formats/registry.ts";
import { formatWeight, summarize } from "../formats/summary.ts";
import { pushToPyroscope } from "../push/pyroscope.ts";
import type { CaptureResult } from "../capture/mod.ts";
import type { RuntimeKind } from "../capture/runtime.ts";
import type { Profile } from "../profile/profile.ts";
import { FlameError } from "../errors.ts";
import type { ProfileSettings } from "./profile.ts";

/** Functions listed on a terminal after a capture. */
const TOP_ON_TERMINAL = 5;

/** Writes the capture's outputs and ends the command; resolves to flame's exit status. */
export async function deliverCapture(
  result: CaptureResult,
  settings: ProfileSettings,
): Promise<number> {
  if (result.idle !== undefined) {
    warn(result.idle);
    return 0;
  }
  const profile = result.profile;
  profile.meta.name ??= result.title;
  const render: Partial<RenderOptions> = {
    title: result.title,
    subtitle: result.subtitle,
    ...settings.render,
  };
  if (!settings.paletteGiven) render.colors = paletteFor(result.runtimes);
  for (const w of await writeProfile(settings.output, profile, settings.writer, { render })) {
    warn(w);
  }
  if (settings.folded) {
    await writeProfile(settings.folded, profile, writerByName("folded"));
  }
  if (result.ending?.warning) warn(result.ending.warning);
  if (stderrIsTerminal() && !sink.quiet) sink.write(topFunctions(profile, TOP_ON_TERMINAL));
  info(summaryLine(result.samples, result.seconds, settings.output, settings.writer.name));
  const code = result.ending?.code ?? 0;
  if (settings.push) {
    try {
      const pushed = await pushToPyroscope(profile, settings.push);
      info(`pushed the profile to ${pushed.url}: HTTP ${pushed.status}`);
    } catch (err) {
      if (!(err instanceof FlameError)) throw err;
      // The file is written: nothing is lost. Say why the push failed, and exit non-zero.
      warn(`${err.message}${err.hint ? ` (${err.hint})` : ""}; ${settings.output} is written`);
      if (code === 0) return 1;
    }
  }
  if (settings.open && settings.writer.name === "svg") await openFile(settings.output);
  return code;
}

/** The palette for the runtimes a profile holds: the runtime's own when there is one. */
export function paletteFor(runtimes: RuntimeKind[]): Palette {
  const distinct = [...new Set(runtimes.filter((k) => k !== "native"))];
  if (distinct.length !== 1) return "hot";
  return ({ python: "python", node: "js", deno: "js", java: "java", native: "hot" } as const)[
    distinct[0]
  ];
}

/**
 * The functions with the most self time, one line each: `  42.1%  12.3 s  fib (work.py)`.
 * Empty for an empty profile.
 */
function topFunctions(profile: Profile, top: number): string {
  const summary = summarize(profile, top);
  if (summary.bySelf.length === 0) return "";
  const rows = summary.bySelf.map((f) => [
    `${f.selfPercent.toFixed(1)}%`,
    formatWeight(f.self, profile.unit),
    showable(f.name),
  ]);
  const lines = tableLines(rows).map((line) => `  ${line}`);
  return `flame: most self time:\n${lines.join("\n")}\n`;
}

/** The one-line summary every capture ends with. */
function summaryLine(
  samples: number,
  seconds: number,
  output: string,
  format: string,
): string {
  const secs = seconds.toFixed(seconds >= 10 ? 0 : seconds >= 1 ? 1 : 2);
  const open = format === "svg" ? ": open it in a browser" : "";
  return `${plural(samples, "sample")} in ${secs} s → ${output}${open}`;
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
