// One measured round of B1/B3/B4 and what the per-benchmark summaries read from the rounds.
import type { Capacity, Try } from './capacity.ts';
import type { RunResult } from './load.ts';

export interface Round {
  capacity: Record<string, Capacity>;
  idle: Record<string, RunResult>;
  /** Cache off and ~80% hits at one fixed rate (80% of cache off's capacity this round),
   * FIXED_RATE_RUNS times each, alternating. */
  fixedRate: Record<string, Try[]>;
}

/** Each round's capacity of `name`. */
export function capacities(rounds: readonly Round[], name: string): number[] {
  return rounds.map((r) => r.capacity[name]!.capacityRps);
}

/** Each round's capacities of `a` and `b`, for a median ratio. */
export function capacityPairs(rounds: readonly Round[], a: string, b: string): [number, number][] {
  return rounds.map((r) => [r.capacity[a]!.capacityRps, r.capacity[b]!.capacityRps] as [number, number]);
}
