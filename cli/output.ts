// Human-facing CLI output: plain lines on stdout, problems on stderr; `--json` puts one JSON
// document on stdout and nothing else, so scripts can pipe it into jq.

export function say(line = ''): void {
  console.log(line);
}

export function warn(line: string): void {
  console.error(line);
}

/** The whole stdout of a `--json` command. */
export function printJson(value: unknown): void {
  say(JSON.stringify(value, null, 2));
}

/** One compact JSON object per line: `--json` with `--follow` (a stream, like `kubectl get -w -o json`). */
export function printJsonLine(value: unknown): void {
  say(JSON.stringify(value));
}

/** Exit codes of every `flywheel` command; `flywheel --help` lists them (EXIT_CODES_HELP). */
export const EXIT_CODES = { ok: 0, failed: 1, config: 2, unreachable: 3 } as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

const MEANINGS: Record<ExitCode, string> = {
  0: 'success',
  1: 'the command failed, or the workflow it waited on ended failed, cancelled, terminated or timed out',
  2: 'invalid configuration: each bad variable or option named (as for every Flywheel process)',
  3: 'Temporal unreachable: the address named; set TEMPORAL_ADDRESS or pass --address',
};

export const EXIT_CODES_HELP = `\nExit codes:\n${Object.entries(MEANINGS)
  .map(([code, meaning]) => `  ${code}  ${meaning}`)
  .join('\n')}`;

/** A failure the CLI reports as one line on stderr, with its own exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';

  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT_CODES.failed,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Two aligned columns, for key/value summaries. */
export function table(rows: ReadonlyArray<readonly [string, string]>, indent = '  '): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n');
}

/** A table with a header row, columns padded to their widest cell. */
export function grid(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
