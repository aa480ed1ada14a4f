/**
 * What every client command shares: the global options, usage errors that
 * exit 2 with a `timeplane:` prefix, and the runner that sends one request,
 * prints the reply (a table, or JSON with --json) and sets the exit code.
 */
import {
  type Command,
  type CommanderError,
  InvalidArgumentError,
  Option,
} from "commander";
import {
  DEFAULT_SERVER,
  type GlobalOptions,
  resolveSettings,
  type Settings,
  UsageError,
} from "./config.ts";
import { type Colors, colorsFor } from "./format.ts";
import { hintFor, unreachableHint } from "./hints.ts";
import {
  ApiClient,
  EXIT,
  type ExitCode,
  exitCodeFor,
  NODE_FAILURE_SCODES,
  type Reply,
  Unreachable,
} from "./http.ts";
import { type NodeList, type ProgressKind, withProgress } from "./progress.ts";

export const EXIT_HELP = `
Exit codes:
  0  success
  1  the controller refused the request (HTTP 4xx)
  2  usage error
  3  partial failure: some nodes failed (scode 2001, 2003)
  4  all nodes failed (scode 2002) or a server error (HTTP 5xx)
  5  cannot reach the controller`;

/** One request of a command and how to show its reply. */
export interface Call<T> {
  request(api: ApiClient): Promise<Reply<T>>;
  /** Human output of data, for success and for per-node failures. */
  render(data: T, c: Colors): string;
  /** Show progress on a terminal while the request is in flight. */
  progress?: ProgressKind;
  /** A better message and hint than the envelope's, for some replies. */
  explain?(reply: Reply<T>): Refusal | undefined;
}

export interface Refusal {
  message: string;
  hint: string;
}

export type Handler = (cmd: Command, settings: Settings) => Call<unknown>;

/** Adds a client command under parent, with the global options. */
export function clientCommand(
  parent: Command,
  spec: string,
  description: string,
): Command {
  const cmd = parent.command(spec).description(description);
  for (const option of globalOptions()) cmd.addOption(option);
  return asClient(cmd).addHelpText("after", EXIT_HELP);
}

/** Adds a group (such as `servers`) whose subcommands do the work. */
export function groupCommand(
  parent: Command,
  name: string,
  description: string,
): Command {
  return asClient(parent.command(name).description(description));
}

/** Runs handler as cmd's action; the exit code goes to process.exitCode. */
export function handle(cmd: Command, handler: Handler): Command {
  return cmd.action(async () => {
    process.exitCode = await execute(cmd, handler);
  });
}

/** An argParser for a positive integer, such as a port or a period. */
export function integer(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) {
      throw new InvalidArgumentError(`${name} must be a whole number`);
    }
    return Number.parseInt(value, 10);
  };
}

/** `timeplane servers add` for the command servers add. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

function globalOptions(): Option[] {
  return [
    new Option(
      "--server <url>",
      `controller URL (env TIMEPLANE_URL, default ${DEFAULT_SERVER})`,
    ),
    new Option("--token <token>", "API token (env TIMEPLANE_API_TOKEN)"),
    new Option("--cluster <uuid>", "cluster to act on (env TIMEPLANE_CLUSTER)"),
    new Option("--json", "print the reply's data as JSON, nothing else"),
    new Option(
      "--config <file>",
      "JSON {server, token, cluster} (default " +
        "$XDG_CONFIG_HOME/timeplane/cli.json, " +
        "else ~/.config/timeplane/cli.json)",
    ),
  ];
}

/** Usage errors exit 2 and read `timeplane: ...`; --help exits 0. */
export function asClient(cmd: Command): Command {
  return cmd
    .exitOverride((err: CommanderError) => {
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    })
    .configureOutput({
      outputError: (str, write) =>
        write(str.replace(/^error: /, "timeplane: ")),
    })
    .showHelpAfterError(`(run \`${commandPath(cmd)} --help\` for usage)`);
}

async function execute(cmd: Command, handler: Handler): Promise<ExitCode> {
  let settings: Settings;
  let call: Call<unknown>;
  try {
    settings = resolveSettings(cmd.opts<GlobalOptions>(), process.env);
    call = handler(cmd, settings);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    fail(err.message, [`next: run \`${commandPath(cmd)} --help\``]);
    return EXIT.usage;
  }

  try {
    const reply = await send(call, new ApiClient(settings), settings);
    return report(reply, call, settings, cmd);
  } catch (err) {
    if (!(err instanceof Unreachable)) throw err;
    fail(err.message, [`next: ${unreachableHint()}`]);
    return EXIT.unreachable;
  }
}

function send(call: Call<unknown>, api: ApiClient, settings: Settings) {
  if (call.progress === undefined || settings.json) return call.request(api);
  const poll = async () => {
    const r = await api.get<NodeList>("/v1/node/list", api.cluster());
    return r.body.scode === 0 ? r.body.data : null;
  };
  const quiet = () => poll().catch(() => null);
  return withProgress(call.progress, quiet, () => call.request(api));
}

function report(
  reply: Reply<unknown>,
  call: Call<unknown>,
  settings: Settings,
  cmd: Command,
): ExitCode {
  const { http, body } = reply;
  const code = exitCodeFor(http, body.scode);
  if (settings.json) {
    const shown = code === EXIT.ok ? body.data : body;
    out(JSON.stringify(shown, null, 2));
  } else if (code === EXIT.ok || NODE_FAILURE_SCODES.includes(body.scode)) {
    out(call.render(body.data, colorsFor(process.stdout)));
  }
  if (code === EXIT.ok) return code;

  const explained = call.explain?.(reply);
  const usage = commandPath(cmd);
  fail(explained?.message ?? body.message, [
    `scode ${body.scode}${body.desc ? ` (${body.desc})` : ""}`,
    `next: ${explained?.hint ?? hintFor(body.scode, usage)}`,
  ]);
  return code;
}

function out(text: string): void {
  if (text !== "") process.stdout.write(`${text}\n`);
}

/** `timeplane: message` on stderr, then indented detail lines. */
function fail(message: string, detail: string[]): void {
  const c = colorsFor(process.stderr);
  const lines = [`${c.red("timeplane:")} ${message}`];
  for (const d of detail) lines.push(`  ${d}`);
  process.stderr.write(`${lines.join("\n")}\n`);
}
