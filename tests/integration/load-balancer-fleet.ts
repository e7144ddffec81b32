// A serving fleet as users run it: `flywheel serve` replicas (real processes) behind the real
// HAProxy, started and stopped with infra/scripts/balancer.sh. Used by the load-balancer tests
// and by the B12 soak benchmark.
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../../lib/time/sleep.ts';
import { freePort, ROOT, spawnNode, type Spawned } from './processes.ts';

export interface Replica {
  /** The HAProxy server name (`replica1`, …), also sent back in X-Flywheel-Replica. */
  name: string;
  port: number;
  url: string;
  process: Spawned | undefined;
}

export interface Fleet {
  /** The balancer's base URL. */
  url: string;
  port: number;
  replicas: Replica[];
  /** Starts (or restarts) a replica on its port; resolves when it listens. */
  start(replica: Replica): Promise<void>;
  /** kill -9. */
  kill(replica: Replica): Promise<void>;
  /** SIGTERM; resolves with the exit code once the process is gone. */
  terminate(replica: Replica): Promise<number | null>;
  /** HAProxy's view of each replica (`UP`, `DOWN`, `UP 1/2`, `MAINT`, …), from its runtime API. */
  states(): Promise<Record<string, string>>;
  /** Waits until HAProxy's health check has each named replica in `state` (`UP` or `DOWN`). */
  waitState(names: string[], state: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface FleetOptions {
  /** `flywheel serve`'s environment (database, store, models, …), shared by every replica. */
  env: Record<string, string>;
  /** Where the balancer's config, pidfile, log and socket go (FLYWHEEL_INFRA_DIR). */
  runDir: string;
  /** @default 2 */
  replicas?: number;
}

function balancerScript(runDir: string, port: number, command: 'up' | 'down', replicas = ''): void {
  const result = spawnSync('bash', [join(ROOT, 'infra/scripts/balancer.sh'), command], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      FLYWHEEL_INFRA_DIR: runDir,
      FLYWHEEL_LB_PORT: String(port),
      FLYWHEEL_LB_REPLICAS: replicas,
    },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`balancer.sh ${command} failed (${result.status}):\n${result.stderr}`);
}

/** One command on HAProxy's runtime API (the stats socket). */
export function haproxyCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath, () => socket.end(`${command}\n`));
    let out = '';
    socket.on('data', (c: Buffer) => (out += c.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const count = options.replicas ?? 2;
  const replicas: Replica[] = [];
  for (let i = 1; i <= count; i++) {
    const port = await freePort();
    replicas.push({ name: `replica${i}`, port, url: `http://127.0.0.1:${port}`, process: undefined });
  }
  const port = await freePort();
  const socketPath = join(options.runDir, `balancer-${port}.sock`);

  async function start(replica: Replica): Promise<void> {
    const p = spawnNode(['bin/flywheel.js', 'serve'], { ...options.env, FLYWHEEL_SERVE_PORT: String(replica.port) });
    replica.process = p;
    await p.waitFor('inference server listening', 90_000);
  }

  async function states(): Promise<Record<string, string>> {
    const csv = await haproxyCommand(socketPath, 'show stat');
    const out: Record<string, string> = {};
    for (const line of csv.split('\n')) {
      const cols = line.split(',');
      if (cols[0] === 'replicas' && cols[1]?.startsWith('replica')) out[cols[1]] = cols[17] ?? '';
    }
    return out;
  }

  const fleet: Fleet = {
    url: `http://127.0.0.1:${port}`,
    port,
    replicas,
    start,
    async kill(replica) {
      replica.process?.child.kill('SIGKILL');
      await replica.process?.exited;
    },
    async terminate(replica) {
      replica.process?.child.kill('SIGTERM');
      return (await replica.process?.exited)?.code ?? null;
    },
    states,
    async waitState(names, state, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = await states();
        // "UP 1/2" is going down, "DOWN 1/2" coming up: only the settled state counts.
        if (names.every((n) => now[n] === state)) return;
        if (Date.now() > deadline) throw new Error(`replicas ${names.join(', ')} not ${state} in ${timeoutMs} ms: ${JSON.stringify(now)}`);
        await sleep(100);
      }
    },
    async stop() {
      try {
        balancerScript(options.runDir, port, 'down');
      } finally {
        for (const r of replicas) r.process?.child.kill('SIGKILL');
        await Promise.all(replicas.flatMap((r) => (r.process ? [r.process.exited] : [])));
      }
    },
  };
  try {
    await Promise.all(replicas.map(start));
    balancerScript(options.runDir, port, 'up', replicas.map((r) => `127.0.0.1:${r.port}`).join(','));
    await fleet.waitState(
      replicas.map((r) => r.name),
      'UP',
    );
  } catch (err) {
    await fleet.stop().catch(() => undefined);
    throw err;
  }
  return fleet;
}
