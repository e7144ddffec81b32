// Child processes for integration tests: Flywheel entry points run exactly as users run them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output: () => string;
  /** Resolves when `pattern` appears in stdout/stderr; rejects on exit or timeout. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnNode(args: string[], env: Record<string, string>): Spawned {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    listeners.forEach((l) => l());
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      listeners.forEach((l) => l());
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      const matches = () => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out));
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (matches()) done(resolve);
          else if (child.exitCode !== null || child.signalCode !== null) {
            done(() => reject(new Error(`process exited before ${String(pattern)}; output:\n${out}`)));
          }
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`timed out waiting for ${String(pattern)}; output:\n${out}`))),
          timeoutMs,
        );
        const done = (fn: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          fn();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

export function spawnWorker(kind: 'cpu' | 'gpu', env: Record<string, string>): Spawned {
  return spawnNode(['--import', 'tsx', `workers/${kind}/main.ts`], env);
}

/** Every live descendant of `pid`, from /proc (Linux). */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parents) {
      if (parent === p) {
        found.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return found;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie is dead for our purposes.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface DevStack {
  dev: Spawned;
  port: number;
  uiPort: number;
  servePort: number;
}

/**
 * `flywheel dev` on free ports (with `--serve` when asked), up and printing "Press Ctrl-C to stop."
 * The ports are picked free here, but the Temporal dev server it starts binds more on ports the
 * kernel picks, and one of those can take a picked one first (EADDRINUSE): then it starts again
 * on fresh ports, up to three times.
 */
export async function startDevStack(options: {
  dataDir: string;
  temporalCliPath: string;
  serve?: boolean;
  timeoutMs?: number;
}): Promise<DevStack> {
  for (let attempt = 1; ; attempt++) {
    const [port, uiPort, servePort] = [await freePort(), await freePort(), await freePort()];
    const args = ['bin/flywheel.js', 'dev', '--port', String(port), '--ui-port', String(uiPort)];
    if (options.serve) args.push('--serve', '--serve-port', String(servePort));
    const dev = spawnNode(args, { FLYWHEEL_DATA_DIR: options.dataDir, TEMPORAL_CLI_PATH: options.temporalCliPath });
    try {
      await dev.waitFor('Press Ctrl-C to stop.', options.timeoutMs ?? 150_000);
      return { dev, port, uiPort, servePort };
    } catch (err) {
      if (attempt >= 3 || !dev.output().includes('EADDRINUSE')) throw err;
      await dev.exited;
    }
  }
}
