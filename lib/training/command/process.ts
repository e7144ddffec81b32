// The child process side: start the command as the leader of its own process group, so that
// stopping it reaches everything it started (data-loader workers, shells, `sleep`s).
import { spawn, type ChildProcess } from 'node:child_process';

export function spawnInGroup(command: readonly string[], options: { cwd?: string; env: NodeJS.ProcessEnv }): ChildProcess {
  const [file, ...args] = command;
  if (file === undefined) throw new TypeError('command must name a program');
  return spawn(file, args, {
    cwd: options.cwd,
    env: options.env,
    detached: true, // own process group (setsid), so -pid addresses the command and its children
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves once the process has started; rejects with the spawn error (e.g. ENOENT). */
export function started(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
}

/** Signals every process in the group led by `pid`; a group that is already gone is not an error. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** A ring of the last `limit` lines, for error messages. */
export function lineTail(limit: number): { push: (line: string) => void; lines: () => string[] } {
  const lines: string[] = [];
  return {
    push(line) {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    lines: () => [...lines],
  };
}
