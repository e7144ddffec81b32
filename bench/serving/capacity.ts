// The capacity search: the highest open-loop rate that meets the SLO (p99 ≤ P99_LIMIT_MS, no
// errors), searched in fractions of a variant's closed-loop throughput, with a failed run repeated
// once at the same rate; and `focus`, which leaves only the measured server running, warmed up.
import { closedLoop, openLoop, type RunResult, type Workload } from './load.ts';
import {
  CLOSED_CONNECTIONS,
  FIRST_GUESS,
  MAX_FRACTION,
  MAX_RUNS,
  MIN_FRACTION,
  NOISY_CPU,
  openMs,
  P99_LIMIT_MS,
  pulseMs,
  RESOLUTION,
  STEP,
} from './method.ts';
import { awaitQuiet } from './quiet.ts';
import { servers } from './servers.ts';

const meetsSlo = (r: RunResult) => r.errors === 0 && r.p99Ms <= P99_LIMIT_MS;

export interface Try extends RunResult {
  /** Failed, and repeated (the next try is its repeat). */
  repeated?: true;
}

export interface Capacity {
  tries: Try[];
  /** Highest offered rate that met the SLO (0: none did). */
  capacityRps: number;
}

export const isNoisy = (r: RunResult) => r.foreignCpu > NOISY_CPU;
/** Other processes were busy, or a major GC ended in the run. A major GC stops the server for tens
 * of ms and its marking threads share the one core for longer; under load one comes every 10-30 s,
 * so it lands in some short runs and not in others. */
export const isDisturbed = (r: RunResult) => isNoisy(r) || r.serverMajorGcs > 0 || r.loadgenMajorGcs > 0;

/** An open-loop run in a quiet moment, repeated once if `retry(result)` (the first result stays in
 * `tries`, marked repeated). */
export async function steadyRun(
  w: Workload,
  rps: number,
  durationMs: number,
  tries: Try[],
  retry: (r: RunResult) => boolean,
): Promise<RunResult> {
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
export async function focus(w: Workload): Promise<void> {
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
export async function capacity(w: Workload, scaleRps: number): Promise<Capacity> {
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
