// B1–B4 — bench:serving: the inference server over HTTP, in child processes pinned to core 0,
// with this process generating load from core 1; every candidate against its baseline in the same
// run, interleaved round by round (the order rotates each round).
//   B1 capacity (highest offered rate with p99 ≤ 20 ms and no errors) of the flights model and a
//      wide MLP, batched vs one ONNX Runtime run per request, and of the same server with a no-op
//      model (the HTTP ceiling); p50 at 50 rps, batched vs not (batching must add nothing idle).
//   B2 in-process, no HTTP: 256 concurrent callers into the dynamic batcher vs fixed batches of 1
//      and of 32 straight on the inference pool.
//   B3 the response cache at ~0% and ~80% hits vs cache off, on the wide MLP.
//   B4 a 10% canary sticky by routing key vs 100% champion (flights model).
// Needs PostgreSQL (registry, routes, prediction log, which stays on as in production): started
// through infra.sh like the tests do; the bench works in a throwaway database it drops at the end.
//
// On a shared 2-core machine, a 1-s p99 is easily decided by something other than the server under
// test, so: idle servers are paused (SIGSTOP) while another is measured, each variant gets a short
// burst of load before it is measured, a failed run is repeated once at the same rate, and runs
// wait for other processes on the machine to go quiet (for up to QUIET_BUDGET_MS in all). What
// disturbed which run (other processes' CPU, major GCs) is in the raw rounds; noisy_runs counts runs
// other processes disturbed.
//
//   npm run bench:serving            # warm-up + 5 rounds, ~5 min
//   npm run bench:serving -- --quick # tiny sizes, 1 round (smoke test)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { loadConfig, type ServeSettings } from '../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../lib/db/index.ts';
import { featureDimension, type FlightInstance } from '../lib/features/flights.ts';
import { exportMlpToOnnx } from '../lib/onnx/index.ts';
import { flightsShapedDim, flightsShapedRows, randomMlp, seededRandom } from '../tests/fixtures/synthetic.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { DynamicBatcher } from '../serving/batcher.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances } from '../tests/fixtures/fixture-models.ts';
import { InferencePool } from '../serving/inference/pool.ts';
import { isQuick, median, saveResults, summaryLine } from './lib.ts';
import type { BenchServerConfig, FromBenchServer, ServerStats, ToBenchServer } from './serving-server.ts';

const quick = isQuick();
const rounds = quick ? 1 : 5;
const P99_LIMIT_MS = 20;
/** Per variant, before any measurement: a closed-loop warm-up (JIT, ORT arenas, connections),
 * then a closed-loop run whose throughput T scales that variant's offered rates. */
const warmMs = quick ? 300 : 1000;
const closedMs = quick ? 300 : 700;
/** One open-loop run at a fixed offered rate. */
const openMs = quick ? 300 : 500;
const CLOSED_CONNECTIONS = 64;
/** Open loop: connections are opened as needed up to this; past it requests wait (and it shows). */
const MAX_CONNECTIONS = 512;
/** Capacity search in fractions of T: from the last round's result (FIRST_GUESS in the first),
 * steps of STEP up while the SLO holds (down while it fails, each twice the last), then bisection
 * to RESOLUTION. */
const FIRST_GUESS = 0.8;
const STEP = quick ? 0.2 : 0.05;
const MAX_FRACTION = 1.5;
const MIN_FRACTION = 0.02;
/** The search stops when pass and fail are this close (in fractions of T). */
const RESOLUTION = STEP / 2;
/** Open-loop runs one search may take, repeats included (it stops with what it has). */
const MAX_RUNS = quick ? 4 : 8;
/** Other processes on this shared machine using more CPU than this (in cores) during a run make
 * it noisy; after a noisy run the bench waits for a quiet moment (QUIET_BUDGET_MS in all) before
 * the next. */
const NOISY_CPU = 0.25;
const QUIET_BUDGET_MS = quick ? 5_000 : 90_000;
const QUIET_PROBE_MS = 250;
/** After an open-loop run, let both processes finish its aftermath (closing sockets, GC). */
const settleMs = quick ? 50 : 150;
/** Closed-loop load on a variant right before it is measured (see focus). */
const pulseMs = quick ? 200 : 300;
/** B3's p99 comparison: runs per variant per round (the round's value is their median p99). */
const FIXED_RATE_RUNS = quick ? 1 : 3;
const IDLE_RPS = 50;
const idleMs = quick ? 400 : 1000;
const b2Ms = quick ? 200 : 500;
const b2Warmups = quick ? 0 : 1;
const B2_CALLERS = 256;
const canaryTarget = quick ? 5_000 : 200_000;
const CANARY_WEIGHT = 0.1;
const keyCount = quick ? 5_000 : 50_000;
const sampleRows = quick ? 2_000 : 20_000;
/** Inputs of the ~80%-hit stream: Zipf over this many hot inputs, plus 20% never seen before. */
const hotRows = quick ? 200 : 2_000;
const HIT_SHARE = 0.8;
const SERVER_CPU = '0';
const LOADGEN_CPU = '1';
const root = fileURLToPath(new URL('..', import.meta.url));
const wallStart = performance.now();

// ---------------------------------------------------------------------------------------------
// Load generator. Open-loop runs are paced here rather than with autocannon's -R: autocannon's
// rate is a per-connection quota refilled by a 1 s interval (lib/httpClient.js), so every second
// starts with a closed-loop burst at full concurrency, and it then fills its latency histogram
// with a 1 ms coordinated-omission correction. Here requests go out at the offered rate whatever
// the server does (see openLoop). Closed-loop runs use the same client, so both kinds of number
// come from one clock and one HTTP parser.

type OnReply = (status: number, body: Buffer) => void;
const EMPTY: Buffer = Buffer.alloc(0);

/** One keep-alive HTTP/1.1 connection, at most one request in flight (no pipelining). */
class Connection {
  alive = true;
  private buf = EMPTY;
  private bodyAt = -1;
  private status = 0;
  private length = 0;
  private reply: OnReply | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.alive = false;
      this.settle(0, EMPTY);
    });
  }

  static open(port: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => {
        socket.off('error', reject);
        resolve(new Connection(socket));
      });
      socket.once('error', reject);
    });
  }

  send(request: string, reply: OnReply): void {
    this.reply = reply;
    this.socket.write(request);
  }

  close(): void {
    this.alive = false;
    this.socket.destroy();
  }

  private settle(status: number, body: Buffer): void {
    const reply = this.reply;
    this.reply = undefined;
    reply?.(status, body);
  }

  private read(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.bodyAt < 0) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.toString('latin1', 0, end);
      // Fastify always sends a content-length for these JSON replies.
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!length) return this.close();
      this.status = Number(head.slice(9, 12));
      this.length = Number(length[1]);
      this.bodyAt = end + 4;
    }
    if (this.buf.length < this.bodyAt + this.length) return;
    const body = this.buf.subarray(this.bodyAt, this.bodyAt + this.length);
    this.buf = EMPTY;
    this.bodyAt = -1;
    this.settle(this.status, body);
  }
}

/** What one variant sends: each call of `next` gives the next request body. */
interface Workload {
  name: string;
  server: BenchServer;
  model: string;
  next(): { body: string; tag: string };
  onReply?(tag: string, status: number, body: Buffer): void;
  /** Run before each capacity measurement (warms the cache's hot set). */
  prepare?(): Promise<void>;
}

interface RunResult {
  mode: 'open' | 'closed';
  /** Open loop: the offered rate; closed loop: null. */
  offeredRps: number | null;
  requests: number;
  errors: number;
  /** Completed requests per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  connections: number;
  /** Open loop: how late the generator sent requests (p99 ms); latency counts from the send. */
  lateP99Ms: number;
  serverEldP99Ms: number;
  serverEldMaxMs: number;
  /** Major (mark-compact) collections that ended during the run. */
  serverMajorGcs: number;
  serverHeapUsedMb: number;
  loadgenMajorGcs: number;
  loadgenEldP99Ms: number;
  loadgenEldMaxMs: number;
  /** CPU the generator used, in cores (near 1: it, not the server, is the limit). */
  loadgenCpu: number;
  /** CPU other processes on the machine used meanwhile, in cores (see NOISY_CPU). */
  foreignCpu: number;
}

const loadgenEld = monitorEventLoopDelay({ resolution: 1 });
loadgenEld.enable();
let loadgenMajorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) loadgenMajorGcs++;
}).observe({ entryTypes: ['gc'] });

function requestText(method: string, port: number, path: string, body: string): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function exchange(w: Workload, conn: Connection, done: (status: number) => void): void {
  const { body, tag } = w.next();
  conn.send(requestText('POST', w.server.port, `/v1/models/${w.model}/predict`, body), (status, reply) => {
    w.onReply?.(tag, status, reply);
    done(status);
  });
}

/** One request on a new connection (no keep-alive socket may outlive a server's pause). */
async function call(server: BenchServer, method: string, path: string, body: unknown): Promise<void> {
  const conn = await Connection.open(server.port);
  const reply = await new Promise<{ status: number; body: Buffer }>((resolve) => conn.send(requestText(method, server.port, path, JSON.stringify(body)), (status, b) => resolve({ status, body: b })));
  conn.close();
  if (reply.status !== 200) throw new Error(`${method} ${path} on the ${server.name} server: ${reply.status} ${reply.body.toString()}`);
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface RawRun {
  latencies: Float64Array;
  errors: number;
  elapsedMs: number;
  connections: number;
  late?: Float64Array;
}

async function measured(w: Workload, fn: () => Promise<RawRun>, offeredRps: number | null): Promise<RunResult> {
  await w.server.stats();
  loadgenEld.reset();
  loadgenMajorGcs = 0;
  const machine0 = cpuSeconds();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { latencies, errors, elapsedMs, connections, late } = await fn();
  const cpu = process.cpuUsage(cpu0);
  const machine1 = cpuSeconds();
  const foreignCpu = (machine1.all - machine0.all - (machine1.ours - machine0.ours)) / ((performance.now() - t0) / 1000);
  lastForeignCpu = foreignCpu;
  const loadgen = { p99: loadgenEld.percentile(99) / 1e6, max: loadgenEld.max / 1e6, cpu: (cpu.user + cpu.system) / 1000 / elapsedMs };
  const server = await w.server.stats();
  const loadgenGcs = loadgenMajorGcs;
  const sorted = latencies.sort();
  if (offeredRps !== null) await sleep(settleMs);
  return {
    mode: offeredRps === null ? 'closed' : 'open',
    offeredRps,
    requests: latencies.length,
    errors,
    rps: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    connections,
    lateP99Ms: late ? percentile(late.sort(), 0.99) : 0,
    serverEldP99Ms: server.eldP99Ms,
    serverEldMaxMs: server.eldMaxMs,
    serverMajorGcs: server.majorGcs,
    serverHeapUsedMb: server.heapUsedMb,
    loadgenMajorGcs: loadgenGcs,
    loadgenEldP99Ms: loadgen.p99,
    loadgenEldMaxMs: loadgen.max,
    loadgenCpu: loadgen.cpu,
    foreignCpu,
  };
}

let lastForeignCpu = 0;
let quietBudgetMs = QUIET_BUDGET_MS;

/** After a noisy run, waits until other processes leave the machine alone (or the budget for
 * waiting is spent). */
async function awaitQuiet(): Promise<void> {
  while (lastForeignCpu > NOISY_CPU && quietBudgetMs > 0) {
    const a = cpuSeconds();
    const t0 = performance.now();
    await sleep(QUIET_PROBE_MS);
    const b = cpuSeconds();
    const elapsedMs = performance.now() - t0;
    lastForeignCpu = (b.all - a.all - (b.ours - a.ours)) / (elapsedMs / 1000);
    quietBudgetMs -= elapsedMs;
  }
}

const TICK_S = 1 / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100);
const serverPids = new Set<number>();

/** CPU seconds used so far by the whole machine, and by us: this process, the servers and
 * PostgreSQL (whoever's queries it runs). Zero where /proc is missing. */
function cpuSeconds(): { all: number; ours: number } {
  const ticks = (pid: number | string) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), cpu: Number(fields[11]) + Number(fields[12]) };
  };
  try {
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.split(/\s+/).slice(1).map(Number);
    let ours = 0;
    for (const pid of serverPids) ours += ticks(pid).cpu;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const t = ticks(pid);
        if (t.comm === 'postgres') ours += t.cpu;
      } catch {
        // exited meanwhile
      }
    }
    const self = process.cpuUsage();
    return { all: (user + nice + system + irq + softirq + steal) * TICK_S, ours: ours * TICK_S + (self.user + self.system) / 1e6 };
  } catch {
    return { all: 0, ours: 0 };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Closed loop: `connections` clients, each sending its next request when the last returns, for
 * `durationMs` or until `maxRequests` were sent. */
function closedLoop(w: Workload, connections: number, durationMs: number, maxRequests = Infinity): Promise<RunResult> {
  return measured(w, async () => {
    const conns = await Promise.all(Array.from({ length: connections }, () => Connection.open(w.server.port)));
    const latencies: number[] = [];
    let errors = 0;
    let sent = 0;
    const t0 = performance.now();
    let last = t0;
    const end = t0 + durationMs;
    await Promise.all(
      conns.map(
        (conn) =>
          new Promise<void>((resolve) => {
            const loop = () => {
              if (!conn.alive || sent >= maxRequests || performance.now() >= end) return resolve();
              sent++;
              const at = performance.now();
              exchange(w, conn, (status) => {
                last = performance.now();
                latencies.push(last - at);
                if (status !== 200) errors++;
                loop();
              });
            };
            loop();
          }),
      ),
    );
    for (const c of conns) c.close();
    return { latencies: Float64Array.from(latencies), errors, elapsedMs: last - t0, connections };
  }, null);
}

/** Open loop at `rps` for `durationMs`: request i is due at t0 + i/rps and goes out then on a free
 * connection, a new one if none is free (up to MAX_CONNECTIONS; past that it waits for one). Its
 * latency counts from when the generator got to it: waiting for a connection counts (the server is
 * behind), the generator's own timer lateness does not (it is reported as lateP99Ms). */
function openLoop(w: Workload, rps: number, durationMs: number): Promise<RunResult> {
  return measured(w, async () => {
    const total = Math.max(1, Math.round((rps * durationMs) / 1000));
    const interval = 1000 / rps;
    const latencies = new Float64Array(total).fill(Number.POSITIVE_INFINITY);
    const sentAt = new Float64Array(total);
    const late = new Float64Array(total);
    const idle: Connection[] = [];
    const all = new Set<Connection>();
    const waiting: number[] = [];
    let connecting = 0;
    let completed = 0;
    let errors = 0;
    // Enough open connections for ~10 ms of traffic; more are opened when needed.
    const initial = await Promise.all(Array.from({ length: Math.min(MAX_CONNECTIONS, Math.max(4, Math.ceil(rps / 100))) }, () => Connection.open(w.server.port)));
    for (const c of initial) all.add(c);
    idle.push(...initial);
    const t0 = performance.now() + 1;
    let lastDone = t0;
    let timer: NodeJS.Timeout | undefined;
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const guard = setTimeout(finished, durationMs + 15_000);

    const finish = (i: number, status: number) => {
      lastDone = performance.now();
      latencies[i] = lastDone - sentAt[i]!;
      if (status !== 200) errors++;
      if (++completed === total) finished();
    };
    const fire = (conn: Connection, i: number) =>
      exchange(w, conn, (status) => {
        finish(i, status);
        if (!conn.alive) {
          all.delete(conn);
          const j = waiting.shift();
          if (j !== undefined) dispatch(j);
          return;
        }
        const j = waiting.shift();
        if (j !== undefined) fire(conn, j);
        else idle.push(conn);
      });
    const dispatch = (i: number) => {
      sentAt[i] ||= performance.now();
      late[i] = sentAt[i]! - (t0 + i * interval);
      let conn = idle.pop();
      while (conn && !conn.alive) {
        all.delete(conn);
        conn = idle.pop();
      }
      if (conn) return fire(conn, i);
      if (all.size + connecting >= MAX_CONNECTIONS) return void waiting.push(i);
      connecting++;
      Connection.open(w.server.port).then(
        (c) => {
          connecting--;
          all.add(c);
          fire(c, i);
        },
        () => {
          connecting--;
          finish(i, 0);
        },
      );
    };
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < total && t0 + i * interval <= now) dispatch(i++);
      if (i < total) timer = setTimeout(tick, t0 + i * interval - now);
    };
    tick();
    await done;
    clearTimeout(guard);
    clearTimeout(timer);
    const connections = all.size;
    for (const c of all) c.close();
    errors += total - completed; // never answered within the guard
    return { latencies, errors, elapsedMs: Math.max(lastDone - t0, durationMs), connections, late };
  }, rps);
}

const meetsSlo = (r: RunResult) => r.errors === 0 && r.p99Ms <= P99_LIMIT_MS;

interface Try extends RunResult {
  /** Failed, and repeated (the next try is its repeat). */
  repeated?: true;
}

interface Capacity {
  tries: Try[];
  /** Highest offered rate that met the SLO (0: none did). */
  capacityRps: number;
}

const isNoisy = (r: RunResult) => r.foreignCpu > NOISY_CPU;
/** Other processes were busy, or a major GC ended in the run. A major GC stops the server for tens
 * of ms and its marking threads share the one core for longer; under load one comes every 10-30 s,
 * so it lands in some short runs and not in others. */
const isDisturbed = (r: RunResult) => isNoisy(r) || r.serverMajorGcs > 0 || r.loadgenMajorGcs > 0;

/** An open-loop run in a quiet moment, repeated once if `retry(result)` (the first result stays in
 * `tries`, marked repeated). */
async function steadyRun(w: Workload, rps: number, durationMs: number, tries: Try[], retry: (r: RunResult) => boolean): Promise<RunResult> {
  await awaitQuiet();
  let r = await openLoop(w, rps, durationMs);
  if (retry(r)) {
    tries.push({ ...r, repeated: true });
    await awaitQuiet();
    r = await openLoop(w, rps, durationMs);
  }
  tries.push(r);
  return r;
}

/** Leaves only `w`'s server running, then loads it for pulseMs (closed loop): a server that sat
 * idle, or stopped, has a stall in its first second of load (GC, re-optimization), and that
 * second should not be the one measured. */
async function focus(w: Workload): Promise<void> {
  for (const s of servers) if (s !== w.server) s.pause();
  w.server.resume();
  await w.prepare?.();
  await closedLoop(w, CLOSED_CONNECTIONS, pulseMs);
}

/** Where each workload's search starts next round: its last capacity, as a fraction of T. */
const lastFraction = new Map<string, number>();

/** Open-loop runs at fractions of T: from the last result, steps up while the SLO holds (down
 * while it fails, each twice the last; up too in the first round, with no last result), then
 * bisection. Starting from a rate that usually passes keeps overload, and the garbage it leaves
 * behind, to the end of a search. */
async function capacity(w: Workload, scaleRps: number): Promise<Capacity> {
  await focus(w);
  const tries: Try[] = [];
  const rate = (fraction: number) => Math.max(1, Math.round(fraction * scaleRps));
  // A failed run gets a second chance at the same rate: whether a GC cycle (marking included) or a
  // burst of other work on this machine falls into one short run is chance, and chance should not
  // set a step of the search.
  const passes = async (fraction: number) => {
    const r = await steadyRun(w, rate(fraction), openMs, tries, (result) => !meetsSlo(result));
    return meetsSlo(r);
  };
  const first = Math.min(MAX_FRACTION, Math.max(0.5, lastFraction.get(w.name) ?? FIRST_GUESS));
  let pass: number | undefined;
  let fail: number | undefined;
  const firstRound = !lastFraction.has(w.name);
  let step = STEP;
  if (await passes(first)) pass = first;
  else fail = first;
  while (fail === undefined && pass! < MAX_FRACTION && tries.length < MAX_RUNS) {
    const f = Math.min(MAX_FRACTION, pass! + step);
    if (await passes(f)) pass = f;
    else fail = f;
    if (firstRound) step *= 2;
  }
  while (pass === undefined && fail! > MIN_FRACTION && tries.length < MAX_RUNS) {
    const f = Math.max(MIN_FRACTION, fail! - step);
    if (await passes(f)) pass = f;
    else fail = f;
    step *= 2;
  }
  while (pass !== undefined && fail !== undefined && fail - pass > RESOLUTION + 1e-9 && tries.length < MAX_RUNS) {
    const mid = (pass + fail) / 2;
    if (await passes(mid)) pass = mid;
    else fail = mid;
  }
  if (pass !== undefined) lastFraction.set(w.name, pass);
  return { tries, capacityRps: pass === undefined ? 0 : rate(pass) };
}

// ---------------------------------------------------------------------------------------------
// Servers: child processes, each pinned (with all its threads) to SERVER_CPU once it listens.

interface BenchServer {
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

const children = new Set<ChildProcess>();
const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

function pin(pid: number, cpus: string): void {
  if (canPin && spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status !== 0) {
    console.warn(`  could not pin pid ${pid} to cpu ${cpus}`);
  }
}

async function startServer(name: string, config: BenchServerConfig): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/serving-server.ts'], {
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

function infraDatabaseUrl(): string {
  const up = spawnSync('bash', ['infra/scripts/infra.sh', 'up', 'postgres'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (up.status !== 0) throw new Error('infra.sh up postgres failed');
  const out = spawnSync('bash', ['infra/scripts/infra.sh', 'env'], { cwd: root, encoding: 'utf8' }).stdout;
  const url = /^export DATABASE_URL=(.*)$/m.exec(out)?.[1];
  if (!url) throw new Error('infra.sh env printed no DATABASE_URL');
  return url;
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------------------------------------
// B2: the batcher in-process, on the flights architecture (231→64→32→1), one ORT thread. It runs
// before any server starts, unpinned: the batcher's event loop and the ORT thread may each have a
// core, so what it measures is whether the batcher keeps the ORT thread fed.

interface BatcherRound {
  /** 256 callers, each refilling its own input buffer (a new one only after the pool took it). */
  batcherRowsPerS: number;
  /** The same with a new buffer per submit, as a server request's encoded features are. */
  batcherFreshRowsPerS: number;
  batch1RowsPerS: number;
  batch32RowsPerS: number;
}

async function batcherRounds(settings: ServeSettings): Promise<BatcherRound[]> {
  const dim = flightsShapedDim(99, 98);
  const onnx = exportMlpToOnnx(randomMlp([dim, 64, 32, 1], seededRandom(1)), { featureSpecHash: 'bench', datasetVersion: 'bench' });
  const pool = InferencePool.create({ threads: 1 });
  const rows = flightsShapedRows(1024, seededRandom(2));
  const source = (k: number, n: number) => rows.subarray(((k * n) % (1024 - n)) * dim, (((k * n) % (1024 - n)) + n) * dim);
  /** `callers` loops for b2Ms, each calling with `perCall` rows; `reuse`: keep the caller's buffer
   * unless it was transferred (detached: length 0), else a new buffer per call. */
  const rowsPerS = async (callers: number, perCall: number, reuse: boolean, call: (x: Float32Array, n: number) => Promise<Float32Array>) => {
    let done = 0;
    const t0 = performance.now();
    const end = t0 + b2Ms;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        let x = new Float32Array(perCall * dim);
        for (let k = c; performance.now() < end; k += callers) {
          if (!reuse || x.length === 0) x = new Float32Array(perCall * dim);
          x.set(source(k, perCall));
          await call(x, perCall);
          done += perCall;
        }
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  };
  const batched = async (reuse: boolean) => {
    const batcher = new DynamicBatcher((x, n) => pool.run('flights', x, n), dim, 1, {
      maxBatchSize: settings.maxBatchSize,
      maxDelayMs: settings.maxDelayMs,
      maxQueueRows: 4 * B2_CALLERS,
      timeoutMs: 60_000,
      concurrency: 2,
    });
    try {
      return await rowsPerS(B2_CALLERS, 1, reuse, (x, n) => batcher.submit(x, n));
    } finally {
      batcher.close();
    }
  };
  const variants: Record<keyof BatcherRound, () => Promise<number>> = {
    batcherRowsPerS: () => batched(true),
    batcherFreshRowsPerS: () => batched(false),
    // Two runs in flight, like the batcher's concurrency 2. The pool transfers every input.
    batch1RowsPerS: () => rowsPerS(2, 1, false, (x, n) => pool.run('flights', x, n)),
    batch32RowsPerS: () => rowsPerS(2, 32, false, (x, n) => pool.run('flights', x, n)),
  };
  const out: BatcherRound[] = [];
  try {
    await pool.load('flights', onnx);
    const names = Object.keys(variants) as (keyof BatcherRound)[];
    for (let r = 0; r < b2Warmups + rounds; r++) {
      const round = {} as BatcherRound;
      for (const name of rotate(names, r)) round[name] = await variants[name]();
      if (r >= b2Warmups) out.push(round);
      console.log(
        `  B2 round ${r + 1}${r < b2Warmups ? ' (warm-up)' : ''}: batcher ${fmt(round.batcherRowsPerS)} rows/s (new buffer per submit ${fmt(round.batcherFreshRowsPerS)}), batch 1 ${fmt(round.batch1RowsPerS)}, batch 32 ${fmt(round.batch32RowsPerS)}`,
      );
    }
  } finally {
    await pool.close();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Median over rounds of a per-round ratio (rounds where the denominator is 0 are skipped). */
function medianRatio(values: readonly [number, number][]): number {
  const ratios = values.filter(([, b]) => b > 0).map(([a, b]) => a / b);
  return ratios.length ? median(ratios) : Number.NaN;
}

function describe(r: RunResult): string {
  const rate = r.offeredRps === null ? `closed ${fmt(r.rps)} rps` : `${fmt(r.offeredRps)} rps`;
  return `${rate} p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms${r.errors ? ` errors ${r.errors}` : ''} (event-loop delay p99/max: server ${r.serverEldP99Ms.toFixed(1)}/${r.serverEldMaxMs.toFixed(0)} ms, generator ${r.loadgenEldP99Ms.toFixed(1)}/${r.loadgenEldMaxMs.toFixed(0)} ms; other processes ${r.foreignCpu.toFixed(2)} cores)`;
}

console.log(`bench:serving — ${rounds} rounds after a warm-up; server on cpu ${SERVER_CPU}, load on cpu ${LOADGEN_CPU}${canPin ? '' : ' (NOT pinned: taskset or a 2nd core missing)'}`);

const defaults = loadConfig('serve', { FLYWHEEL_SERVE_AUTH: 'false', FLYWHEEL_SERVE_PORT: '0', FLYWHEEL_SERVE_HOST: '127.0.0.1', FLYWHEEL_SERVE_JOBS: 'false' }).serve;
// B1, B2 and B4 measure without the cache, so repeated inputs cannot inflate the numbers.
const base: ServeSettings = { ...defaults, cacheSize: 0, rateLimitRps: 1e9, rateLimitBurst: 1e9, rateLimitRows: 1e12 };

// B2 first, before any server exists; it may use both cores (the batcher and the ORT thread).
console.log('B2: 256 in-process callers into the batcher vs fixed batches on the pool');
const b2 = await batcherRounds(base);

const adminUrl = infraDatabaseUrl();
const dbName = `flywheel_bench_serving_${randomBytes(4).toString('hex')}`;
const dbUrl = new URL(adminUrl);
dbUrl.pathname = `/${dbName}`;
const storeDir = await mkdtemp(join(tmpdir(), 'flywheel-bench-serving-'));
const servers: BenchServer[] = [];
const dropScratch = async () => {
  await admin(adminUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((err: unknown) => console.warn(`could not drop ${dbName}: ${String(err)}`));
  await rm(storeDir, { recursive: true, force: true });
};
const cleanup = async () => {
  await Promise.allSettled(servers.map((s) => s.stop()));
  for (const c of children) c.kill('SIGKILL');
  await dropScratch();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // SIGKILL also ends a stopped (paused) child.
    for (const c of children) c.kill('SIGKILL');
    void Promise.race([dropScratch(), sleep(5000)]).finally(() => process.exit(130));
  });
}

try {
  await admin(adminUrl, `CREATE DATABASE ${dbName}`);
  const db = await PostgresDatabase.create(dbUrl.toString());
  const storeUri = pathToFileURL(storeDir).href;
  const spec = await fitFixtureSpec(quick ? 20_000 : 50_000);
  const names = { flights: 'bench-flights', wide: 'bench-wide', canary: 'bench-canary' };
  try {
    await migrate(db);
    const registry = new BuiltinRegistry(db);
    const store = await LocalArtifactStore.create(storeUri);
    await registerFixtureModel({ registry, store, name: names.flights, spec, alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.wide, spec, hidden: [1024, 1024], alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.canary, spec, seed: 1, alias: 'champion' });
    await registerFixtureModel({ registry, store, name: names.canary, spec, seed: 2 });
  } finally {
    await db.close();
  }
  const instances = await sampleInstances(sampleRows, 100_000);
  const common = { databaseUrl: dbUrl.toString(), storeUri };
  const started = await Promise.all([
    startServer('batched', { ...common, settings: { ...base, models: Object.values(names) } }),
    startServer('unbatched', { ...common, settings: { ...base, batching: false, models: [names.flights, names.wide] } }),
    startServer('noop', { ...common, settings: { ...base, models: [names.flights] }, noopInputDim: featureDimension(spec) }),
    // B3 is on the wide MLP, where inference is the largest share of a request's cost and a cache
    // can save the most. Default cache size; a long TTL so the hot set does not expire mid-bench.
    startServer('cached', { ...common, settings: { ...base, cacheSize: defaults.cacheSize, cacheTtlMs: 3_600_000, models: [names.wide] } }),
  ]);
  servers.push(...started);
  const [batched, unbatched, noop, cached] = started as [BenchServer, BenchServer, BenchServer, BenchServer];
  await call(batched, 'PUT', `/v1/admin/models/${names.canary}/routing`, { canary: { version: 2, weight: CANARY_WEIGHT } });
  pin(process.pid, LOADGEN_CPU);

  // Request bodies: one real flight each, and a routing key drawn from many (all variants send
  // one, so all parse the same body); rendered around the distance so a never-seen input is cheap.
  const random = seededRandom(7);
  const parts = instances.map((inst: FlightInstance) => [
    `{"instances":[{"date":${JSON.stringify(inst.date)},"distance":`,
    `,"origin":${JSON.stringify(inst.origin)},"destination":${JSON.stringify(inst.destination)}}],"routingKey":"`,
  ]);
  const render = (row: number, distance: number, key: string) => `${parts[row]![0]}${distance}${parts[row]![1]}${key}"}`;
  const nextKey = () => `user-${Math.floor(random() * keyCount)}`;
  let cursor = 0;
  let unseen = 0;
  const pooled = () => {
    const row = cursor++ % instances.length;
    const key = nextKey();
    return { body: render(row, instances[row]!.distance, key), tag: key };
  };
  // A distance no request had before: the cache key changes, the model's cost does not.
  const neverSeen = () => {
    const row = cursor++ % instances.length;
    const key = nextKey();
    return { body: render(row, instances[row]!.distance + ++unseen * 1e-3, key), tag: key };
  };
  const hot = Math.min(hotRows, instances.length);
  const zipf: number[] = [];
  for (let k = 1, sum = 0; k <= hot; k++) zipf.push((sum += 1 / k));
  const zipfRow = () => {
    const u = random() * zipf[zipf.length - 1]!;
    let lo = 0;
    let hi = zipf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (zipf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const mostlyHot = () => {
    if (random() >= HIT_SHARE) return neverSeen();
    const row = zipfRow();
    const key = nextKey();
    return { body: render(row, instances[row]!.distance, key), tag: key };
  };
  const cacheHits = { cache_miss: { hits: 0, replies: 0 }, cache_hit80: { hits: 0, replies: 0 } };
  const countHits = (counter: { hits: number; replies: number }) => (_tag: string, status: number, body: Buffer) => {
    if (status !== 200) return;
    counter.replies++;
    if (body.includes('"cached":true')) counter.hits++;
  };
  const canary = { requests: 0, canaryVersion: 0, keys: new Map<string, number>(), flipped: 0 };
  const recordVersion = (key: string, status: number, body: Buffer) => {
    const version = status === 200 ? /"version":(\d+)/.exec(body.toString('latin1'))?.[1] : undefined;
    if (version === undefined) return;
    const v = Number(version);
    canary.requests++;
    if (v === 2) canary.canaryVersion++;
    const seen = canary.keys.get(key);
    if (seen === undefined) canary.keys.set(key, v);
    else if (seen !== v) canary.flipped++;
  };
  const warmHotSet = async () => {
    const batch = 1000;
    for (let s = 0; s < hot; s += batch) {
      await call(cached, 'POST', `/v1/models/${names.wide}/predict`, { instances: instances.slice(s, Math.min(hot, s + batch)) });
    }
  };

  // In an order that keeps each compared pair close (rotation keeps the order, round by round).
  const workloads: Workload[] = [
    { name: 'noop', server: noop, model: names.flights, next: pooled },
    { name: 'flights', server: batched, model: names.flights, next: pooled },
    { name: 'canary', server: batched, model: names.canary, next: pooled, onReply: recordVersion },
    { name: 'flights_unbatched', server: unbatched, model: names.flights, next: pooled },
    { name: 'wide_unbatched', server: unbatched, model: names.wide, next: pooled },
    { name: 'wide', server: batched, model: names.wide, next: pooled },
    { name: 'cache_miss', server: cached, model: names.wide, next: neverSeen, onReply: countHits(cacheHits.cache_miss) },
    { name: 'cache_hit80', server: cached, model: names.wide, next: mostlyHot, onReply: countHits(cacheHits.cache_hit80), prepare: warmHotSet },
  ];
  const byName = (name: string) => workloads.find((w) => w.name === name)!;

  console.log('B1/B3/B4: warm-up, then each variant\'s closed-loop throughput T (the scale of its offered rates)');
  const scale = new Map<string, RunResult>();
  for (const w of workloads) {
    await focus(w);
    await closedLoop(w, CLOSED_CONNECTIONS, warmMs);
    scale.set(w.name, await closedLoop(w, CLOSED_CONNECTIONS, closedMs));
    console.log(`  ${w.name}: T = ${describe(scale.get(w.name)!)}`);
  }

  interface Round {
    capacity: Record<string, Capacity>;
    idle: Record<string, RunResult>;
    /** Cache off and ~80% hits at one fixed rate (80% of cache off's capacity this round),
     * FIXED_RATE_RUNS times each, alternating. */
    fixedRate: Record<string, Try[]>;
  }
  const measuredRounds: Round[] = [];
  console.log(`B1/B3/B4: capacity = highest open-loop rate with p99 ≤ ${P99_LIMIT_MS} ms and no errors`);
  for (let r = 0; r < rounds; r++) {
    const label = `round ${r + 1}`;
    const round: Round = { capacity: {}, idle: {}, fixedRate: {} };
    for (const w of rotate(workloads, r)) {
      const c = await capacity(w, scale.get(w.name)!.rps);
      round.capacity[w.name] = c;
      const best = c.tries.find((t) => t.offeredRps === c.capacityRps && !t.repeated);
      console.log(`  ${label} ${w.name}: capacity ${fmt(c.capacityRps)} rps${best ? ` (${describe(best)})` : ''} after ${c.tries.length} runs`);
    }
    for (const name of rotate(['flights', 'flights_unbatched'], r)) {
      await focus(byName(name));
      round.idle[name] = await steadyRun(byName(name), IDLE_RPS, idleMs, [], isDisturbed);
      console.log(`  ${label} idle ${name}: ${describe(round.idle[name])}`);
    }
    // 80% of cache off's capacity: busy, but clear of the knee where one hiccup decides p99.
    const rate = Math.round(0.8 * (round.capacity.wide!.capacityRps || 0.5 * scale.get('wide')!.rps));
    for (let k = 0; k < FIXED_RATE_RUNS; k++) {
      for (const name of rotate(['wide', 'cache_hit80'], r + k)) {
        await focus(byName(name));
        const run = await steadyRun(byName(name), rate, openMs, (round.fixedRate[name] ??= []), isDisturbed);
        console.log(`  ${label} fixed rate ${name}: ${describe(run)}`);
      }
    }
    measuredRounds.push(round);
  }

  // B4 share: top up the canary's requests (counted over every run above) to the target.
  const remaining = canaryTarget - canary.requests;
  if (remaining > 0) {
    console.log(`B4: ${fmt(remaining)} more canary-routed requests (closed loop) to reach ${fmt(canaryTarget)}`);
    await focus(byName('canary'));
    await closedLoop(byName('canary'), CLOSED_CONNECTIONS, Infinity, remaining);
  }

  const cap = (name: string) => measuredRounds.map((r) => r.capacity[name]!.capacityRps);
  const pairs = (a: string, b: string) => measuredRounds.map((r) => [r.capacity[a]!.capacityRps, r.capacity[b]!.capacityRps] as [number, number]);
  const openRuns = measuredRounds.flatMap((r) => [...Object.values(r.capacity).flatMap((c) => c.tries), ...Object.values(r.idle), ...Object.values(r.fixedRate).flat()]);
  const fixedP99 = (r: Round, name: string) => median(r.fixedRate[name]!.filter((t) => !t.repeated).map((t) => t.p99Ms));
  const noisyRuns = openRuns.filter(isNoisy);
  const hitRate = (c: { hits: number; replies: number }) => (c.replies ? c.hits / c.replies : Number.NaN);
  const summary = {
    ceiling_fraction: medianRatio(pairs('flights', 'noop')),
    capacity_ratio: medianRatio(pairs('flights', 'flights_unbatched')),
    wide_capacity_ratio: medianRatio(pairs('wide', 'wide_unbatched')),
    idle_p50_ratio: medianRatio(measuredRounds.map((r) => [r.idle.flights!.p50Ms, r.idle.flights_unbatched!.p50Ms])),
    batch_speedup: medianRatio(b2.map((r) => [r.batch32RowsPerS, r.batch1RowsPerS])),
    batcher_efficiency: medianRatio(b2.map((r) => [r.batcherRowsPerS, r.batch32RowsPerS])),
    batcher_efficiency_fresh: medianRatio(b2.map((r) => [r.batcherFreshRowsPerS, r.batch32RowsPerS])),
    miss_capacity_ratio: medianRatio(pairs('cache_miss', 'wide')),
    hit80_capacity_ratio: medianRatio(pairs('cache_hit80', 'wide')),
    hit80_p99_ratio: medianRatio(measuredRounds.map((r) => [fixedP99(r, 'cache_hit80'), fixedP99(r, 'wide')])),
    canary_capacity_ratio: medianRatio(pairs('canary', 'flights')),
    canary_share: canary.requests ? canary.canaryVersion / canary.requests : Number.NaN,
    sticky: canary.flipped === 0 && canary.requests > 0 ? 1 : 0,
    noop_rps: Math.round(median(cap('noop'))),
    flights_rps: Math.round(median(cap('flights'))),
    flights_unbatched_rps: Math.round(median(cap('flights_unbatched'))),
    wide_rps: Math.round(median(cap('wide'))),
    wide_unbatched_rps: Math.round(median(cap('wide_unbatched'))),
    hit80_hit_rate: hitRate(cacheHits.cache_hit80),
    miss_hit_rate: hitRate(cacheHits.cache_miss),
    canary_requests: canary.requests,
    canary_keys: canary.keys.size,
    noisy_runs: noisyRuns.length,
    open_runs: openRuns.length,
    quiet_wait_s: Math.round((QUIET_BUDGET_MS - quietBudgetMs) / 1000),
    rounds,
    wall_s: Math.round((performance.now() - wallStart) / 1000),
  };
  const file = await saveResults('serving', {
    summary,
    settings: base,
    method: { p99LimitMs: P99_LIMIT_MS, warmMs, closedMs, openMs, closedConnections: CLOSED_CONNECTIONS, maxConnections: MAX_CONNECTIONS, firstGuess: FIRST_GUESS, step: STEP, idleRps: IDLE_RPS, pinned: canPin },
    b2,
    closedLoop: Object.fromEntries(scale),
    rounds: measuredRounds,
  });
  console.log(`raw rounds: ${file}`);
  await cleanup();
  console.log(summaryLine('serving', summary));
} catch (err) {
  await cleanup();
  throw err;
}
process.exit(0);
