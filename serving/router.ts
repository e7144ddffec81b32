// Champion/canary routing. A request with a routing key always lands in the same bucket (FNV-1a
// of the key), so a user sticks to one arm, and raising the canary weight only moves buckets from
// champion to canary, never back. Requests without a key are spread at random.
import { unitHash } from '../lib/hash.ts';

export interface RouteTable {
  champion: number;
  canary?: { version: number; weight: number };
  /** Mirrored: scored and logged, never returned. */
  shadow?: number;
}

export type Arm = 'champion' | 'canary';

/** A routing key's bucket in [0, 1): 32-bit FNV-1a as a fraction of 2^32 (lib/hash.ts). */
export function stickyBucket(key: string): number {
  return unitHash(key);
}

export function chooseArm(
  route: RouteTable,
  routingKey: string | undefined,
  random: () => number = Math.random,
): { arm: Arm; version: number } {
  const canary = route.canary;
  if (!canary || canary.weight <= 0) return { arm: 'champion', version: route.champion };
  const bucket = routingKey === undefined ? random() : stickyBucket(routingKey);
  return bucket < canary.weight ? { arm: 'canary', version: canary.version } : { arm: 'champion', version: route.champion };
}
