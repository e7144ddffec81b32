// The gate a variant (the int8 build of a version) must pass before it may be served: its main test
// metric against the fp32 model's on the same rows. One rule per task, so a 0.01 means the same
// thing to every reader of the spec.
import type { TaskKind } from '../tasks/task.ts';

export interface VariantGate {
  /** The metric compared: rocAuc, accuracy or rmse. */
  metric: string;
  fp32: number;
  variant: number;
  /** How much worse the variant is: fp32 − variant for AUC and accuracy; variant ÷ fp32 − 1 for RMSE. */
  drop: number;
  maxDrop: number;
  passed: boolean;
  summary: string;
}

const MAIN_METRIC: Record<TaskKind, string> = { binary: 'rocAuc', multiclass: 'accuracy', regression: 'rmse' };

export function checkVariantGate(
  task: TaskKind,
  fp32: Record<string, number>,
  variant: Record<string, number>,
  maxDrop: number,
  name = 'int8',
  /** What the variant is compared with, in the summary. */
  reference = 'fp32',
): VariantGate {
  const metric = MAIN_METRIC[task];
  const a = fp32[metric];
  const b = variant[metric];
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b))
    return {
      metric,
      fp32: a ?? NaN,
      variant: b ?? NaN,
      drop: NaN,
      maxDrop,
      passed: false,
      summary: `${name}: ${metric} not available, not servable`,
    };
  const drop = task === 'regression' ? (a === 0 ? (b === 0 ? 0 : Infinity) : b / a - 1) : a - b;
  // A variant better than fp32 has a negative drop; rounding noise must not fail an identical one.
  const passed = drop <= maxDrop + 1e-12;
  const shown = task === 'regression' ? `${(drop * 100).toFixed(2)}%` : drop.toFixed(4);
  const limit = task === 'regression' ? `${(maxDrop * 100).toFixed(2)}%` : maxDrop.toFixed(4);
  return {
    metric,
    fp32: a,
    variant: b,
    drop,
    maxDrop,
    passed,
    summary: `${name}: ${metric} ${b.toFixed(4)} vs ${reference} ${a.toFixed(4)} (${task === 'regression' ? 'increase' : 'drop'} ${shown} ${passed ? '≤' : '>'} ${limit})`,
  };
}
