// B1 (bench:serving): capacity (highest offered rate with p99 ≤ 20 ms and no errors) of the flights
// model and a wide MLP, batched vs one ONNX Runtime run per request, and of the same server with a
// no-op model (the HTTP ceiling); p50 at IDLE_RPS, batched vs not (batching must add nothing idle).
import { median } from '../lib.ts';
import { focus, isDisturbed, steadyRun } from './capacity.ts';
import { describe, type Workload } from './load.ts';
import { IDLE_RPS, idleMs } from './method.ts';
import { capacities, capacityPairs, type Round } from './rounds.ts';
import { medianRatio, rotate } from './util.ts';

/** This round's runs at IDLE_RPS, batched and not, in rotating order. */
export async function idleRuns(round: Round, r: number, byName: (name: string) => Workload, label: string): Promise<void> {
  for (const name of rotate(['flights', 'flights_unbatched'], r)) {
    await focus(byName(name));
    round.idle[name] = await steadyRun(byName(name), IDLE_RPS, idleMs, [], isDisturbed);
    console.log(`  ${label} idle ${name}: ${describe(round.idle[name])}`);
  }
}

/** B1's headline keys. */
export function capacitySummary(rounds: readonly Round[]) {
  return {
    ceiling_fraction: medianRatio(capacityPairs(rounds, 'flights', 'noop')),
    capacity_ratio: medianRatio(capacityPairs(rounds, 'flights', 'flights_unbatched')),
    wide_capacity_ratio: medianRatio(capacityPairs(rounds, 'wide', 'wide_unbatched')),
    idle_p50_ratio: medianRatio(rounds.map((r) => [r.idle.flights!.p50Ms, r.idle.flights_unbatched!.p50Ms])),
  };
}

/** B1's capacities themselves (medians over rounds, requests per second). */
export function capacityRps(rounds: readonly Round[]) {
  const rps = (name: string) => Math.round(median(capacities(rounds, name)));
  return {
    noop_rps: rps('noop'),
    flights_rps: rps('flights'),
    flights_unbatched_rps: rps('flights_unbatched'),
    wide_rps: rps('wide'),
    wide_unbatched_rps: rps('wide_unbatched'),
  };
}
