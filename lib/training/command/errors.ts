// Why a command trainer failed. A non-zero exit is usually retryable (a crash, an OOM kill); a
// protocol violation is a bug in the command (lib/temporal/failures.ts: non-retryable InvalidConfig).

/** The command exited with a non-zero code or was killed by a signal it did not get from us. */
export class TrainerExitError extends Error {
  override readonly name = 'TrainerExitError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly exitSignal: NodeJS.Signals | null,
    readonly stderrTail: string[],
  ) {
    const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${exitSignal ?? 'an unknown signal'}`;
    super(`training command ${command} ${how}${formatTail(stderrTail)}`);
  }
}

/** The command broke the protocol: a bad checkpoint event, exit 0 without `done`, no output. */
export class TrainerProtocolError extends Error {
  override readonly name = 'TrainerProtocolError';
  constructor(
    /** The violation alone, without the stderr tail. */
    readonly reason: string,
    readonly stderrTail: string[] = [],
  ) {
    super(`${reason}${formatTail(stderrTail)}`);
  }
}

function formatTail(lines: string[]): string {
  return lines.length > 0 ? `; last stderr lines:\n${lines.join('\n')}` : '';
}

/** The command cannot start here: its program is not on PATH or its working folder is missing.
 * Retrying on the same worker cannot help (lib/temporal/failures.ts: non-retryable InvalidConfig). */
export class TrainerCommandError extends Error {
  override readonly name = 'TrainerCommandError';
}
