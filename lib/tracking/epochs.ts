// Per-epoch metrics in the shape a tracked run keeps them (`RunEpoch`), from either trainer: the
// TF.js trainer's history, or a command trainer's progress/checkpoint events.
import type { RunEpoch } from './types.ts';

/** The TF.js trainer's history ([{epoch, loss, valLoss}]) as run epochs. */
export function epochsOfHistory(history: ReadonlyArray<{ epoch: number; loss: number; valLoss: number }>): RunEpoch[] {
  return history.map((h) => ({ epoch: h.epoch, metrics: { loss: h.loss, valLoss: h.valLoss } }));
}

/** Collects a command's events: each metric's last value in each epoch, epochs in order. Events
 * without an epoch are not per-epoch and are left out. */
export function epochCollector(): { add(epoch: number | undefined, metrics: Record<string, number>): void; list(): RunEpoch[] } {
  const byEpoch = new Map<number, Record<string, number>>();
  return {
    add(epoch, metrics) {
      if (epoch === undefined || Object.keys(metrics).length === 0) return;
      byEpoch.set(epoch, { ...byEpoch.get(epoch), ...metrics });
    },
    list() {
      return [...byEpoch.entries()].sort(([a], [b]) => a - b).map(([epoch, metrics]) => ({ epoch, metrics }));
    },
  };
}
