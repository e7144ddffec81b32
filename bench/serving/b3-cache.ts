// B3 (bench:serving): the response cache at ~0% and ~80% hits vs cache off, on the wide MLP:
// capacity, and p99 at one fixed rate (80% of cache off's capacity that round).
import type { FlightInstance } from '../../examples/flights/legacy-encoder.ts';
import { median } from '../lib.ts';
import { focus, isDisturbed, steadyRun } from './capacity.ts';
import { call } from './connection.ts';
import { describe, type Workload } from './load.ts';
import { FIXED_RATE_RUNS, HIT_SHARE, openMs } from './method.ts';
import { capacityPairs, type Round } from './rounds.ts';
import type { BenchServer } from './servers.ts';
import { medianRatio, rotate } from './util.ts';

export interface HitCount {
  hits: number;
  replies: number;
}

/** Counters of cached replies, one per cache workload. */
export function cacheHitCounters(): { cache_miss: HitCount; cache_hit80: HitCount } {
  return { cache_miss: { hits: 0, replies: 0 }, cache_hit80: { hits: 0, replies: 0 } };
}

/** A workload's `onReply` that counts its cached replies in `counter`. */
export function countHits(counter: HitCount) {
  return (_tag: string, status: number, body: Buffer) => {
    if (status !== 200) return;
    counter.replies++;
    if (body.includes('"cached":true')) counter.hits++;
  };
}

/** Puts the `hot` first flights in the cache (before each capacity measurement of ~80% hits). */
export async function warmHotSet(cached: BenchServer, model: string, instances: readonly FlightInstance[], hot: number): Promise<void> {
  const batch = 1000;
  for (let s = 0; s < hot; s += batch) {
    await call(cached, 'POST', `/v1/models/${model}/predict`, { instances: instances.slice(s, Math.min(hot, s + batch)) });
  }
}

/** This round's fixed-rate runs of cache off (`wide`) and ~80% hits, alternating. */
export async function fixedRateRuns(
  round: Round,
  r: number,
  byName: (name: string) => Workload,
  label: string,
  rate: number,
): Promise<void> {
  for (let k = 0; k < FIXED_RATE_RUNS; k++) {
    for (const name of rotate(['wide', 'cache_hit80'], r + k)) {
      await focus(byName(name));
      const run = await steadyRun(byName(name), rate, openMs, (round.fixedRate[name] ??= []), isDisturbed);
      console.log(`  ${label} fixed rate ${name}: ${describe(run)}`);
    }
  }
}

/** At HIT_SHARE hits, where a hit costs at least the HTTP path (the no-op server's capacity) and a
 * miss the wide model's, capacity is at most 1 / (misses/wide + hits/noop): as a multiple of cache
 * off's, 1 / (0.2 + 0.8 × wide/noop) (../shared/BENCHMARKS.md, B3). The fraction of that bound
 * ~80% hits reached, per round. */
export function hit80BoundFractions(rounds: readonly Round[]): [number, number][] {
  return rounds.map((r) => {
    const wide = r.capacity.wide!.capacityRps;
    const noop = r.capacity.noop!.capacityRps;
    const bound = noop > 0 ? 1 / (1 - HIT_SHARE + (HIT_SHARE * wide) / noop) : 0;
    return [wide > 0 ? r.capacity.cache_hit80!.capacityRps / wide : 0, bound];
  });
}

/** B3's headline keys. */
export function cacheSummary(rounds: readonly Round[]) {
  const fixedP99 = (r: Round, name: string) => median(r.fixedRate[name]!.filter((t) => !t.repeated).map((t) => t.p99Ms));
  return {
    miss_capacity_ratio: medianRatio(capacityPairs(rounds, 'cache_miss', 'wide_never_seen')),
    // The earlier baseline (pooled bodies, cache off), kept to compare with older runs.
    miss_vs_pooled_capacity_ratio: medianRatio(capacityPairs(rounds, 'cache_miss', 'wide')),
    hit80_bound_fraction: medianRatio(hit80BoundFractions(rounds)),
    hit80_capacity_ratio: medianRatio(capacityPairs(rounds, 'cache_hit80', 'wide')),
    hit80_p99_ratio: medianRatio(rounds.map((r) => [fixedP99(r, 'cache_hit80'), fixedP99(r, 'wide')])),
  };
}

/** The share of replies that came from the cache. */
export function hitRate(c: HitCount): number {
  return c.replies ? c.hits / c.replies : Number.NaN;
}
