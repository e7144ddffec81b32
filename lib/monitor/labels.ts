// The window's SLO metrics per task — latency, errors, online quality from feedback labels — and
// label and prediction drift against the training label distribution (the reference profile's
// `__label`). Pure functions over the window's rows, so each verdict is unit-tested.
import { categoricalCounts } from '../data/drift/index.ts';
import { normalizedWasserstein } from '../data/drift/ecdf.ts';
import type { DatasetProfile, Ecdf } from '../data/profile-types.ts';
import { rocAuc } from '../evaluation/auc.ts';
import { percentile } from '../percentile.ts';
import type { TaskKind } from '../tasks/task.ts';
import type { SloMetrics } from '../contracts/drift-monitor.ts';
import { LABEL_PROFILE_NAME } from '../data/feature-profile.ts';
import type { WindowRow } from './window.ts';

/** The training label distribution a window is compared with. */
export type LabelReference =
  | { kind: 'binary'; positiveRate: number }
  | { kind: 'multiclass'; shares: Record<string, number> }
  | { kind: 'regression'; mean: number; std: number; ecdf: Ecdf };

/** The training labels of `task` from the reference profile's `__label`; null when the profile
 * has none (a profile from before tasks) or it does not fit the task. */
export function labelReference(reference: DatasetProfile, task: TaskKind): LabelReference | null {
  const label = reference.features[LABEL_PROFILE_NAME];
  if (!label) return null;
  if (task === 'multiclass') {
    if (label.kind !== 'categorical') return null;
    const counts = categoricalCounts(label);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    return total > 0 ? { kind: 'multiclass', shares: Object.fromEntries([...counts].map(([c, n]) => [c, n / total])) } : null;
  }
  if (label.kind !== 'numeric' || label.mean === null) return null;
  if (task === 'binary') return { kind: 'binary', positiveRate: label.mean };
  return label.std === null ? null : { kind: 'regression', mean: label.mean, std: label.std, ecdf: label.ecdf };
}

/** Share of each value. */
function shares(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  for (const k of Object.keys(out)) out[k] = out[k]! / values.length;
  return out;
}

/** Total variation distance of two distributions over classes: half the L1 distance, in [0, 1]. */
export function totalVariation(p: Record<string, number>, q: Record<string, number>): number {
  let sum = 0;
  for (const k of new Set([...Object.keys(p), ...Object.keys(q)])) sum += Math.abs((p[k] ?? 0) - (q[k] ?? 0));
  return sum / 2;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** An exact ECDF of a sample. */
function ecdfOf(xs: readonly number[]): Ecdf {
  const sorted = [...xs].sort((a, b) => a - b);
  const values: number[] = [];
  const counts: number[] = [];
  for (const x of sorted) {
    if (values.at(-1) === x) counts[counts.length - 1]!++;
    else {
      values.push(x);
      counts.push(1);
    }
  }
  return { values, counts, exact: true };
}

/**
 * The window's metrics for a model of `task`. Online quality and label drift need at least
 * `minLabels` labelled predictions (binary AUC also both classes); prediction drift needs a
 * reference and at least `minLabels` predictions, so a handful of requests cannot alarm.
 */
export function sloMetrics(
  rows: readonly WindowRow[],
  minLabels: number,
  task: TaskKind = 'binary',
  reference: LabelReference | null = null,
): SloMetrics {
  const latencies = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
  const scored = rows.filter((r) => Number.isFinite(r.output) && (task !== 'multiclass' || typeof r.outputClass === 'string'));
  const base = {
    samples: rows.length,
    p99LatencyMs: percentile(latencies, 0.99) ?? null,
    errorRate: rows.length === 0 ? null : (rows.length - scored.length) / rows.length,
  };
  const predicted = scored.length >= minLabels && scored.length > 0;
  if (task === 'multiclass') {
    const labelled = scored.filter((r) => typeof r.labelClass === 'string');
    const enough = labelled.length >= minLabels && labelled.length > 0;
    const ref = reference?.kind === 'multiclass' ? reference.shares : null;
    return {
      ...base,
      task,
      labels: labelled.length,
      auc: null,
      positiveRate: null,
      accuracy: enough ? labelled.filter((r) => r.outputClass === r.labelClass).length / labelled.length : null,
      labelShift: enough && ref ? totalVariation(shares(labelled.map((r) => r.labelClass!)), ref) : null,
      predictionShift: predicted && ref ? totalVariation(shares(scored.map((r) => r.outputClass!)), ref) : null,
    };
  }
  if (task === 'regression') {
    const labelled = scored.filter((r) => r.label !== null && Number.isFinite(r.label));
    const enough = labelled.length >= minLabels && labelled.length > 0;
    const errors = labelled.map((r) => r.output - r.label!);
    const ref = reference?.kind === 'regression' && reference.std > 0 ? reference : null;
    return {
      ...base,
      task,
      labels: labelled.length,
      auc: null,
      positiveRate: null,
      rmse: enough ? Math.sqrt(mean(errors.map((e) => e * e))) : null,
      mae: enough ? mean(errors.map(Math.abs)) : null,
      labelShift: enough && ref ? Math.abs(mean(labelled.map((r) => r.label!)) - ref.mean) / ref.std : null,
      predictionShift:
        predicted && ref && ref.ecdf.values.length > 0
          ? normalizedWasserstein(ref.ecdf, ecdfOf(scored.map((r) => r.output)), ref.std)
          : null,
    };
  }
  const labelled = scored.filter((r) => r.label !== null);
  const labels = labelled.map((r) => (r.label! > 0.5 ? 1 : 0));
  const positives = labels.reduce<number>((s, l) => s + l, 0);
  const enough = labelled.length >= minLabels && labelled.length > 0;
  const judgeable = enough && positives > 0 && positives < labelled.length;
  const positiveRate = enough ? positives / labelled.length : null;
  const ref = reference?.kind === 'binary' ? reference.positiveRate : null;
  return {
    ...base,
    task,
    labels: labelled.length,
    auc: judgeable
      ? rocAuc(
          labelled.map((r) => r.output),
          labels,
        )
      : null,
    positiveRate,
    labelShift: positiveRate !== null && ref !== null ? Math.abs(positiveRate - ref) : null,
    predictionShift: predicted && ref !== null ? Math.abs(mean(scored.map((r) => r.output)) - ref) : null,
  };
}
