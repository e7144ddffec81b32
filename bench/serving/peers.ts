// P1/P2 (bench:serving --peer): the servers a team would run instead of Flywheel's, on the same
// flights model, request bodies, load generator and pinned core: BentoML with adaptive batching and
// a hand-written FastAPI + ONNX Runtime server (bench/peers/serving/, bench/peers/README.md). They
// come from the pinned peers venv, which `infra.sh provision peers` installs (instant when current).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sleep } from '../../lib/time/sleep.ts';
import { median } from '../lib.ts';
import { Connection, requestText } from './connection.ts';
import { SERVER_CPU } from './method.ts';
import { serverPids } from './quiet.ts';
import { capacities, capacityPairs, type Round } from './rounds.ts';
import { canPin, root, type BenchServer } from './servers.ts';
import { medianRatio } from './util.ts';

export const peerMode = process.argv.includes('--peer');

export const PEERS = ['fastapi', 'bentoml'] as const;
export type PeerName = (typeof PEERS)[number];

export interface PeerVenv {
  python: string;
  bin: string;
  /** Package versions as installed, printed and saved with the results. */
  versions: Record<string, string>;
}

const PEERS_DIR = join(root, 'bench/peers/serving');
const READY_TIMEOUT_MS = 180_000;

/** The peers' venv, provisioned; a reason instead when it cannot be had (the peers are skipped). */
export function peerVenv(): PeerVenv | { skipped: string } {
  if (spawnSync('python3', ['--version'], { stdio: 'ignore' }).status !== 0) return { skipped: 'python3 is missing' };
  const provision = spawnSync('bash', ['infra/scripts/infra.sh', 'provision', 'peers'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (provision.status !== 0) return { skipped: '`infra.sh provision peers` failed (its log is above)' };
  const bin = join(process.env.FLYWHEEL_TOOLS_DIR ?? join(root, '.tools'), 'peers-venv', 'bin');
  const python = join(bin, 'python');
  const probe = spawnSync(
    python,
    [
      '-c',
      'import json, importlib.metadata as m; print(json.dumps({p: m.version(p) for p in ["bentoml", "fastapi", "uvicorn", "uvloop", "httptools", "orjson", "onnxruntime", "numpy"]}))',
    ],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) return { skipped: `the peers venv's python failed: ${probe.stderr.trim().split('\n').at(-1) ?? ''}` };
  return { python, bin, versions: JSON.parse(probe.stdout) as Record<string, string> };
}

/** The flights model's fitted features beside its ONNX file, where the peers read them. */
export async function writePeerFeatures(dir: string, fitted: unknown): Promise<string> {
  const path = join(dir, 'peer-fitted-features.json');
  await writeFile(path, JSON.stringify(fitted));
  return path;
}

/** The route each peer serves the flights model on (FastAPI's is Flywheel's own path). */
export function peerPath(peer: PeerName, model: string): string {
  return peer === 'bentoml' ? '/predict' : `/v1/models/${model}/predict`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A process and every process under it (BentoML's supervisor starts its worker in its own group). */
function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, p] of parent) if (p === tree[i]) tree.push(child);
  return tree;
}

const started = new Set<ChildProcess>();

/** SIGKILL every peer process (the bench's signal handler). */
export function killPeers(): void {
  for (const child of started) for (const pid of processTree(child.pid!)) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Answers 200 to one real predict body: the peer is up. */
async function ready(port: number, path: string, body: string, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    const status = await Connection.open(port).then(
      (conn) =>
        new Promise<number>((resolve) =>
          conn.send(requestText('POST', port, path, body), (s) => {
            conn.close();
            resolve(s);
          }),
        ),
      () => 0,
    );
    if (status === 200) return;
    await sleep(250);
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s`);
}

/** Starts a peer on the flights model, pinned from its first instruction to SERVER_CPU (with every
 * process it starts), and waits until it answers `probe` (a real request body). */
export async function startPeer(
  peer: PeerName,
  venv: PeerVenv,
  files: { model: string; features: string; modelName: string },
  probe: string,
): Promise<BenchServer> {
  const port = await freePort();
  const command =
    peer === 'fastapi'
      ? [venv.python, 'fastapi_server.py', '--model', files.model, '--features', files.features, '--port', String(port)]
      : [join(venv.bin, 'bentoml'), 'serve', 'bentoml_service:FlightsPredictor', '--host', '127.0.0.1', '--port', String(port)];
  const [exe, ...args] = canPin ? ['taskset', '-c', SERVER_CPU, ...command] : command;
  const child = spawn(exe!, args, {
    cwd: PEERS_DIR,
    env: {
      ...process.env,
      PATH: `${venv.bin}:${process.env.PATH ?? ''}`,
      FLIGHTS_MODEL_ONNX: files.model,
      FLIGHTS_MODEL_FEATURES: files.features,
      BENTOML_DO_NOT_TRACK: 'true',
      PYTHONUNBUFFERED: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  started.add(child);
  child.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await ready(port, peerPath(peer, files.modelName), probe, child);
  } catch (err) {
    killPeers();
    throw new Error(`the ${peer} peer did not start: ${err instanceof Error ? err.message : String(err)}`);
  }
  // BentoML's worker exists once it answers; every process of the peer counts as the server's CPU.
  const pids = processTree(child.pid!);
  for (const pid of pids) serverPids.add(pid);
  const each = (sig: NodeJS.Signals) => {
    for (const pid of pids) signal(pid, sig);
  };
  return {
    name: peer,
    port,
    // No event-loop or GC figures from a Python server (the raw rounds show zeros).
    stats: () => Promise.resolve({ eldP99Ms: 0, eldMaxMs: 0, majorGcs: 0, heapUsedMb: 0 }),
    pause: () => each('SIGSTOP'),
    resume: () => each('SIGCONT'),
    stop: async () => {
      for (const pid of pids) serverPids.delete(pid);
      if (child.exitCode !== null) return;
      each('SIGCONT');
      each('SIGTERM');
      const timer = setTimeout(() => each('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      started.delete(child);
    },
  };
}

/** P1/P2's keys: Flywheel's batched flights capacity over each peer's (medians of same-round
 * ratios), the peers' capacities, and the versions measured. */
export function peerSummary(rounds: readonly Round[], venv: PeerVenv | undefined): Record<string, number | string> {
  if (!venv) return { peers: 'skipped' };
  return {
    bentoml_capacity_ratio: medianRatio(capacityPairs(rounds, 'flights', 'bentoml')),
    fastapi_capacity_ratio: medianRatio(capacityPairs(rounds, 'flights', 'fastapi')),
    bentoml_rps: Math.round(median(capacities(rounds, 'bentoml'))),
    fastapi_rps: Math.round(median(capacities(rounds, 'fastapi'))),
    bentoml_version: venv.versions.bentoml ?? '?',
    fastapi_version: venv.versions.fastapi ?? '?',
    uvicorn_version: venv.versions.uvicorn ?? '?',
    onnxruntime_python_version: venv.versions.onnxruntime ?? '?',
  };
}
