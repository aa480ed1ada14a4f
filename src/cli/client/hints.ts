/**
 * What to run next after the controller refused or failed a request, by
 * scode. `usage` is the command's own path, such as "timeplane servers add".
 */

const BY_SCODE: Record<number, (usage: string) => string> = {
  1001: (u) => `fix the value named above; see \`${u} --help\``,
  1002: (u) => `add the missing value; see \`${u} --help\``,
  1003: () => "this controller does not take that option: it may be older",
  1004: () => "this is a bug of the CLI: report it with the command you ran",
  1101: () =>
    "list the names with `timeplane zones` and `timeplane zones ZONE`",
  1102: () => "use the zone of the same name outside right/ and posix/",
  1103: () => "install tzdata on the node, or start it with --zoneinfo",
  1201: () => "check the source, or add it anyway with --force",
  1202: () => "list the sources with `timeplane servers list`",
  1301: () => "list the clusters with `timeplane cluster list`",
  1302: () => "pass --cluster UUID; list them with `timeplane cluster list`",
  1303: () => "list the nodes with `timeplane nodes`",
  1304: () => "read the current state with `timeplane nodes` and retry",
  1305: () => "check that the node's agent runs; see `timeplane nodes`",
  1306: () => "start the agent with the token of `timeplane cluster create`",
  1401: () => "the controller may be older than this CLI: upgrade it",
  1402: () => "the controller may be older than this CLI: upgrade it",
  1501: () => "pass --token or set TIMEPLANE_API_TOKEN",
  1502: () => "use a token allowed to do this",
  1503: () => "wait the seconds named above, then retry",
  2001: () =>
    "the failed nodes retry on their own; follow with `timeplane nodes`",
  2002: () => "fix the nodes named above; follow with `timeplane nodes`",
  2003: () => "read each node's error above; clock control may be off (-x)",
  3001: () => "install chrony on the node (apt-get install chrony) or start it",
  3002: () => "read chrony's reason above; the previous sources are back",
  3003: () => "check permissions and disk space on the node",
  5000: () => "find the request id in the controller's log",
};

export function hintFor(scode: number, usage: string): string {
  return BY_SCODE[scode]?.(usage) ?? "see docs/errors.md for this scode";
}

export function unreachableHint(): string {
  return (
    "start it with `timeplane serve`, " +
    "or point --server (env TIMEPLANE_URL) at it"
  );
}
