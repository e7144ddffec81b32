// B4 (bench:serving): a 10% canary sticky by routing key vs 100% champion (flights model):
// capacity, the canary's share of replies, and whether any key ever saw both versions.
import { focus } from './capacity.ts';
import { closedLoop, type Workload } from './load.ts';
import { CLOSED_CONNECTIONS, canaryTarget } from './method.ts';
import { capacityPairs, type Round } from './rounds.ts';
import { fmt, medianRatio } from './util.ts';

export interface CanaryCount {
  requests: number;
  canaryVersion: number;
  /** The version each routing key got first. */
  keys: Map<string, number>;
  /** Replies with a version other than the key's first. */
  flipped: number;
}

/** Counts the versions in the canary workload's replies (its `onReply`). */
export function canaryCounter(): { count: CanaryCount; recordVersion: (key: string, status: number, body: Buffer) => void } {
  const count: CanaryCount = { requests: 0, canaryVersion: 0, keys: new Map<string, number>(), flipped: 0 };
  const recordVersion = (key: string, status: number, body: Buffer) => {
    const version = status === 200 ? /"version":(\d+)/.exec(body.toString('latin1'))?.[1] : undefined;
    if (version === undefined) return;
    const v = Number(version);
    count.requests++;
    if (v === 2) count.canaryVersion++;
    const seen = count.keys.get(key);
    if (seen === undefined) count.keys.set(key, v);
    else if (seen !== v) count.flipped++;
  };
  return { count, recordVersion };
}

/** Tops up the canary's requests (counted over every run before) to canaryTarget. */
export async function topUpCanary(canary: Workload, count: CanaryCount): Promise<void> {
  const remaining = canaryTarget - count.requests;
  if (remaining > 0) {
    console.log(`B4: ${fmt(remaining)} more canary-routed requests (closed loop) to reach ${fmt(canaryTarget)}`);
    await focus(canary);
    await closedLoop(canary, CLOSED_CONNECTIONS, Infinity, remaining);
  }
}

/** B4's headline keys. */
export function canarySummary(rounds: readonly Round[], count: CanaryCount) {
  return {
    canary_capacity_ratio: medianRatio(capacityPairs(rounds, 'canary', 'flights')),
    canary_share: count.requests ? count.canaryVersion / count.requests : Number.NaN,
    sticky: count.flipped === 0 && count.requests > 0 ? 1 : 0,
  };
}
