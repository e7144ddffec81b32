// The headline capacities confirmed in long steps (issue 21, item 5): the search's 0.5-s steps,
// with a failed run repeated once, pass a server that stalls for ~1 s every so often, because one
// short run rarely holds the stall and its repeat usually does not. Here each step lasts STEADY_MS
// (10 s) at a fixed rate, is never repeated, and a failure steps the rate down by STEADY_STEP, from
// 85% of the median capacity the rounds found. What each step saw (event-loop delay max, major GCs) is in
// the raw results, so a stall shows where it happened.
import { focus } from './capacity.ts';
import { describe, openLoop, type RunResult, type Workload } from './load.ts';
import { P99_LIMIT_MS, quick } from './method.ts';
import { awaitQuiet } from './quiet.ts';

export const STEADY_MS = quick ? 1_000 : 10_000;
/** Each failed step lowers the rate by this fraction. */
const STEADY_STEP = 0.1;
const STEADY_TRIES = quick ? 2 : 5;
/** The first step's rate, as a fraction of the rounds' median capacity (a 10-s step at the short
 * steps' capacity failed for every server in the first run, peers included). */
const STEADY_START = 0.85;

export interface SteadyCapacity {
  /** The highest rate whose whole STEADY_MS step met the SLO (0: none of the tries did). */
  capacityRps: number;
  tries: RunResult[];
}

export async function steadyCapacity(w: Workload, startRps: number, log: (line: string) => void): Promise<SteadyCapacity> {
  await focus(w);
  const tries: RunResult[] = [];
  let rate = Math.max(1, Math.round(startRps * STEADY_START));
  for (let i = 0; i < STEADY_TRIES; i++) {
    await awaitQuiet();
    const r = await openLoop(w, rate, STEADY_MS);
    tries.push(r);
    log(`  steady ${w.name} ${STEADY_MS / 1000} s at ${rate.toLocaleString('en-US')} rps: ${describe(r)}`);
    if (r.errors === 0 && r.p99Ms <= P99_LIMIT_MS) return { capacityRps: rate, tries };
    rate = Math.max(1, Math.round(rate * (1 - STEADY_STEP)));
  }
  return { capacityRps: 0, tries };
}

/** Steady capacities and their ratios: Flywheel's flights capacity ÷ each peer's, and ÷ the no-op's. */
export function steadySummary(steady: Record<string, SteadyCapacity>): Record<string, number> {
  const rps = (name: string) => steady[name]?.capacityRps ?? 0;
  const ratio = (a: string, b: string) => (rps(b) > 0 ? rps(a) / rps(b) : 0);
  const out: Record<string, number> = {
    steady_flights_rps: rps('flights'),
    steady_noop_rps: rps('noop'),
    steady_ceiling_fraction: ratio('flights', 'noop'),
  };
  for (const peer of ['fastapi', 'bentoml']) {
    if (!steady[peer]) continue;
    out[`steady_${peer}_rps`] = rps(peer);
    out[`steady_${peer}_capacity_ratio`] = ratio('flights', peer);
  }
  return out;
}
