/**
 * `flame push`: a profile file (any format flame reads) to Grafana Pyroscope's ingest API.
 * The options and their parsing are exported so the commands that record (run, record, report)
 * can offer `--push URL --app NAME` with the same names.
 */
import type { Command } from "./command.ts";
import {
  numberOption,
  type OptionSpec,
  type OptionValue,
  parseCommandArgs,
  stringValue,
  stringValues,
} from "./args.ts";
import { UsageError } from "../errors.ts";
import { info, sink, stdinIsTerminal, warn } from "../log.ts";
import { readProfiles } from "../formats/registry.ts";
import { formatBytes } from "../format.ts";
import { pushToPyroscope, type PyroscopeTarget } from "../push/pyroscope.ts";

/** The environment variable holding the basic-auth password (never a flag: `ps` shows flags). */
export const PASSWORD_ENV = "FLAME_PUSH_PASSWORD";
/** The environment variable holding a bearer token. */
export const TOKEN_ENV = "FLAME_PUSH_TOKEN";

/** The push options (without `--server`, which commands may call `--push`). */
export const PUSH_OPTIONS: OptionSpec = {
  app: { type: "string" },
  label: { type: "string", multiple: true },
  user: { type: "string" },
  tenant: { type: "string" },
  "push-format": { type: "string" },
  "push-timeout": { type: "string" },
};

/** Help lines for PUSH_OPTIONS. */
export const PUSH_OPTIONS_HELP =
  `  --app NAME            application name in Pyroscope (letters, digits, . _ - /)
  --label KEY=VALUE     a label (repeatable): --label env=prod --label region=eu
  --user USER           HTTP basic auth user; the password is read from $${PASSWORD_ENV}
                        (a bearer token instead: set $${TOKEN_ENV})
  --tenant ID           tenant of a multi-tenant server (X-Scope-OrgID header)
  --push-format F       folded or pprof (default: folded for samples and bytes,
                        pprof for time and counts)
  --push-timeout S      seconds to wait for the server (30)`;

/**
 * The push target from parsed options and the environment. `server` is the URL given (as
 * `--server` or `--push`); `command` names the command in messages.
 */
export function pushTargetFrom(
  command: string,
  server: string,
  values: Record<string, OptionValue>,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): PyroscopeTarget {
  const app = stringValue(values, "app");
  if (!app) {
    throw new UsageError(`${command}: pushing needs --app NAME`, `run 'flame ${command} --help'`);
  }
  const labels: Record<string, string> = {};
  for (const l of stringValues(values, "label")) {
    const eq = l.indexOf("=");
    if (eq <= 0) throw new UsageError(`${command}: --label wants KEY=VALUE, got '${l}'`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const target: PyroscopeTarget = { server, app, labels };
  const user = stringValue(values, "user");
  const password = env(PASSWORD_ENV);
  const token = env(TOKEN_ENV);
  if (user !== undefined) {
    if (password === undefined) {
      throw new UsageError(
        `${command}: --user needs the password in $${PASSWORD_ENV}`,
        "a password on the command line would show in process lists",
      );
    }
    target.basicAuth = { user, password };
  } else if (token) {
    target.bearerToken = token;
  }
  const tenant = stringValue(values, "tenant");
  if (tenant) target.tenant = tenant;
  const format = stringValue(values, "push-format");
  if (format !== undefined) {
    if (format !== "folded" && format !== "pprof") {
      throw new UsageError(`${command}: --push-format wants folded or pprof, got '${format}'`);
    }
    target.format = format;
  }
  const timeout = numberOption(command, "push-timeout", stringValue(values, "push-timeout"), {
    min: 0.001,
  });
  if (timeout !== undefined) target.timeoutMs = timeout * 1000;
  return target;
}

const OPTIONS = {
  ...PUSH_OPTIONS,
  server: { type: "string" },
  from: { type: "string" },
  quiet: { type: "boolean", short: "q" },
} as const;

const HELP = `Usage: flame push --server URL --app NAME [OPTIONS] FILE...

Sends a profile to Grafana Pyroscope (its HTTP ingest API, POST /ingest). FILE is any
profile flame reads (folded stacks, perf script, pprof, speedscope, cProfile, ...);
several merge into one; '-' reads stdin. The profile's start and length are sent when it
knows them (pprof, .cpuprofile); otherwise it is sent as just taken.

Options:
  --server URL          the Pyroscope server (http://localhost:4040)
${PUSH_OPTIONS_HELP}
  --from FORMAT         read FILE as FORMAT instead of telling it from its content
  -q, --quiet           no messages but errors

A failed push prints one line and exits 1; the file is left as it was.

Examples:
  flame push --server http://localhost:4040 --app checkout --label env=dev out.folded
  FLAME_PUSH_PASSWORD=$TOKEN flame push --server https://profiles.example.net \\
      --user 123456 --app api cpu.pb.gz
  flame push --server http://pyroscope:4040 --tenant team-a --app batch profile.json`;

/** The `flame push` subcommand. */
export const pushCommand: Command = {
  name: "push",
  help: HELP,
  async run(argv: string[]): Promise<number> {
    const { values, positionals } = parseCommandArgs("push", argv, OPTIONS);
    if (values.quiet === true) sink.quiet = true;
    const server = stringValue(values, "server");
    if (!server) {
      throw new UsageError("push: --server URL is required", "run 'flame push --help'");
    }
    const target = pushTargetFrom("push", server, values);
    const inputs = positionals.length ? positionals : ["-"];
    if (inputs.includes("-") && stdinIsTerminal()) {
      throw new UsageError("push: no input: give a profile FILE", "run 'flame push --help'");
    }
    const { profile, warnings } = await readProfiles(inputs, { from: stringValue(values, "from") });
    for (const w of warnings) warn(w);
    const result = await pushToPyroscope(profile, target);
    info(
      `pushed ${
        formatBytes(result.bytes)
      } (${result.format}) to ${result.url}: HTTP ${result.status}`,
    );
    return 0;
  },
};
