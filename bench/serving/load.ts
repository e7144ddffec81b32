// Load generator: closed- and open-loop runs of one workload, with what else happened meanwhile
// (event-loop delay and major GCs on both sides, other processes' CPU).
//
// Open-loop runs are paced here rather than with autocannon's -R: autocannon's rate is a
// per-connection quota refilled by a 1 s interval (lib/httpClient.js), so every second
// starts with a closed-loop burst at full concurrency, and it then fills its latency histogram
// with a 1 ms coordinated-omission correction. Here requests go out at the offered rate whatever
// the server does (see openLoop). Closed-loop runs use the same client, so both kinds of number
// come from one clock and one HTTP parser.
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { percentile } from '../../lib/percentile.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { Connection, requestText } from './connection.ts';
import { MAX_CONNECTIONS, settleMs } from './method.ts';
import { cpuSeconds, noteForeignCpu } from './quiet.ts';
import type { BenchServer } from './servers.ts';
import { fmt } from './util.ts';

/** What one variant sends: each call of `next` gives the next request body. */
export interface Workload {
  name: string;
  server: BenchServer;
  model: string;
  /** @default `/v1/models/<model>/predict` */
  path?: string;
  next(): { body: string; tag: string };
  onReply?(tag: string, status: number, body: Buffer): void;
  /** Run before each capacity measurement (warms the cache's hot set). */
  prepare?(): Promise<void>;
}

export interface RunResult {
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
  for (const entry of list.getEntries())
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) loadgenMajorGcs++;
}).observe({ entryTypes: ['gc'] });

function exchange(w: Workload, conn: Connection, done: (status: number) => void): void {
  const { body, tag } = w.next();
  conn.send(requestText('POST', w.server.port, w.path ?? `/v1/models/${w.model}/predict`, body), (status, reply) => {
    w.onReply?.(tag, status, reply);
    done(status);
  });
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
  noteForeignCpu(foreignCpu);
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
    p50Ms: percentile(sorted, 0.5) ?? Number.NaN,
    p99Ms: percentile(sorted, 0.99) ?? Number.NaN,
    maxMs: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    connections,
    lateP99Ms: late ? (percentile(late.sort(), 0.99) ?? Number.NaN) : 0,
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

/** Closed loop: `connections` clients, each sending its next request when the last returns, for
 * `durationMs` or until `maxRequests` were sent. */
export function closedLoop(w: Workload, connections: number, durationMs: number, maxRequests = Infinity): Promise<RunResult> {
  return measured(
    w,
    async () => {
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
    },
    null,
  );
}

/** Open loop at `rps` for `durationMs`: request i is due at t0 + i/rps and goes out then on a free
 * connection, a new one if none is free (up to MAX_CONNECTIONS; past that it waits for one). Its
 * latency counts from when the generator got to it: waiting for a connection counts (the server is
 * behind), the generator's own timer lateness does not (it is reported as lateP99Ms). */
export function openLoop(w: Workload, rps: number, durationMs: number): Promise<RunResult> {
  return measured(
    w,
    async () => {
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
      const initial = await Promise.all(
        Array.from({ length: Math.min(MAX_CONNECTIONS, Math.max(4, Math.ceil(rps / 100))) }, () => Connection.open(w.server.port)),
      );
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
    },
    rps,
  );
}

export function describe(r: RunResult): string {
  const rate = r.offeredRps === null ? `closed ${fmt(r.rps)} rps` : `${fmt(r.offeredRps)} rps`;
  return `${rate} p50 ${r.p50Ms.toFixed(2)} p99 ${r.p99Ms.toFixed(2)} ms${r.errors ? ` errors ${r.errors}` : ''} (event-loop delay p99/max: server ${r.serverEldP99Ms.toFixed(1)}/${r.serverEldMaxMs.toFixed(0)} ms, generator ${r.loadgenEldP99Ms.toFixed(1)}/${r.loadgenEldMaxMs.toFixed(0)} ms; other processes ${r.foreignCpu.toFixed(2)} cores)`;
}
