// Servers under test: bench/serving-server.ts in child processes, each pinned (with all its
// threads) to SERVER_CPU once it listens, and the load generator pinned to LOADGEN_CPU (taskset).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchServerConfig, FromBenchServer, ServerStats, ToBenchServer } from '../serving-server.ts';
import { SERVER_CPU } from './method.ts';
import { serverPids } from './quiet.ts';

export const root = fileURLToPath(new URL('../..', import.meta.url));

// Servers: child processes, each pinned (with all its threads) to SERVER_CPU once it listens.

export interface BenchServer {
  name: string;
  port: number;
  /** Event-loop delay and major GCs since the last call. */
  stats(): Promise<ServerStats>;
  /** SIGSTOP / SIGCONT: an idle server still runs timers and idle-time GC, on the measured
   * server's core, so only the one under load is left running. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/** Every server started, in start order (main adds them); `focus` pauses all but one. */
export const servers: BenchServer[] = [];
export const children = new Set<ChildProcess>();
/** The V8 flag the inference server runs with in the deployment manifests. */
export const SERVER_NODE_FLAG = '--max-semi-space-size=64';

export const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

export function pin(pid: number, cpus: string): void {
  if (canPin && spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status !== 0) {
    console.warn(`  could not pin pid ${pid} to cpu ${cpus}`);
  }
}

export async function startServer(name: string, config: BenchServerConfig): Promise<BenchServer> {
  // As deployed (infra/k8s/base/serving.yaml, docs/operations.md): a 64 MB young generation.
  const child = spawn(process.execPath, [SERVER_NODE_FLAG, '--import', 'tsx', 'bench/serving-server.ts'], {
    cwd: root,
    env: { ...process.env, BENCH_SERVING_SERVER: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  let statsWaiter: { resolve: (stats: ServerStats) => void; reject: (err: Error) => void } | undefined;
  // A send to a child that died is reported here (and by its exit), not thrown at random.
  child.on('error', () => undefined);
  child.once('exit', (code, signal) => {
    children.delete(child);
    statsWaiter?.reject(new Error(`the ${name} server exited (${signal ?? code})`));
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (m: FromBenchServer) => {
      if (m.type === 'ready') resolve(m.url);
      else if (m.type === 'failed') reject(new Error(`${name} server failed: ${m.message}`));
      else {
        statsWaiter?.resolve(m);
        statsWaiter = undefined;
      }
    });
    child.once('exit', (code) => reject(new Error(`${name} server exited with code ${code}`)));
  });
  pin(child.pid!, SERVER_CPU);
  serverPids.add(child.pid!);
  child.once('exit', () => serverPids.delete(child.pid!));
  const ask = (message: ToBenchServer) => child.send(message);
  return {
    name,
    port: Number(new URL(url).port),
    stats: () =>
      new Promise((resolve, reject) => {
        statsWaiter = { resolve, reject };
        ask({ type: 'stats' });
      }),
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGCONT');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      ask({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
