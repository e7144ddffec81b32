// One evaluation of a multiclass classifier or a regressor as a plain-JSON record, like
// `evaluateBinary` for binary classifiers; `task` tells the three apart (a binary record has none).
import { groupSlices, type SliceGroupOptions } from './slices.ts';
import { accuracy, confusionMatrix, macroF1, multiclassLogLoss, perClassMetrics, topKAccuracy, type ClassMetric } from './multiclass.ts';
import { mae, r2, residualSummary, rmse, type ResidualSummary } from './regression.ts';
import type { EvaluationMetrics } from './evaluate.ts';

export interface MulticlassSliceMetric {
  slice: string;
  rows: number;
  accuracy: number;
  macroF1: number;
  logLoss: number;
}

export interface RegressionSliceMetric {
  slice: string;
  rows: number;
  rmse: number;
  mae: number;
}

export interface EvaluateMulticlassInput extends SliceGroupOptions {
  /** Test rows, row-major `rows × classes.length`. */
  probabilities: ArrayLike<number>;
  /** Class index per test row. */
  labels: ArrayLike<number>;
  classes: readonly string[];
  /** Slice keys per family, one per test row. */
  slices: Record<string, readonly string[]>;
  /** k of the top-k accuracy. @default min(3, classes − 1) */
  topK?: number;
}

export interface MulticlassEvaluationMetrics {
  task: 'multiclass';
  rows: number;
  classes: string[];
  accuracy: number;
  macroF1: number;
  logLoss: number;
  topK: { k: number; accuracy: number };
  perClass: ClassMetric[];
  /** `confusion[actual][predicted]`, in class order. */
  confusion: number[][];
  slices: Record<string, MulticlassSliceMetric[]>;
  /** Lowest-accuracy slice over all families (the larger one on ties); null without slices. */
  worstSlice: (MulticlassSliceMetric & { family: string }) | null;
}

export interface EvaluateRegressionInput extends SliceGroupOptions {
  predictions: ArrayLike<number>;
  targets: ArrayLike<number>;
  slices: Record<string, readonly string[]>;
  /** Points kept for the predicted-vs-actual chart. @default 500 */
  maxScatterPoints?: number;
  /** @default 30 */
  residualBins?: number;
}

export interface ResidualBin {
  lower: number;
  upper: number;
  count: number;
}

export interface RegressionEvaluationMetrics {
  task: 'regression';
  rows: number;
  rmse: number;
  mae: number;
  r2: number;
  /** Mean of the test targets: what a constant predictor would say. */
  targetMean: number;
  residuals: ResidualSummary;
  slices: Record<string, RegressionSliceMetric[]>;
  /** Highest-RMSE slice over all families (the larger one on ties); null without slices. */
  worstSlice: (RegressionSliceMetric & { family: string }) | null;
  charts: { scatter: { actual: number; predicted: number }[]; residualHistogram: ResidualBin[] };
}

/** Any task's evaluation record; a binary one is `EvaluationMetrics`, without `task`. */
export type TaskEvaluationMetrics = EvaluationMetrics | MulticlassEvaluationMetrics | RegressionEvaluationMetrics;

export function taskOfMetrics(metrics: TaskEvaluationMetrics): 'binary' | 'multiclass' | 'regression' {
  return 'task' in metrics ? metrics.task : 'binary';
}

function pick(values: ArrayLike<number>, rows: readonly number[], width = 1): Float64Array {
  const out = new Float64Array(rows.length * width);
  rows.forEach((r, i) => {
    for (let j = 0; j < width; j++) out[i * width + j] = values[r * width + j]!;
  });
  return out;
}

function worst<T extends { rows: number }>(slices: Record<string, T[]>, badness: (s: T) => number): (T & { family: string }) | null {
  let found: (T & { family: string }) | null = null;
  for (const [family, list] of Object.entries(slices)) {
    for (const s of list) {
      if (found === null || badness(s) > badness(found) || (badness(s) === badness(found) && s.rows > found.rows)) found = { family, ...s };
    }
  }
  return found;
}

export function evaluateMulticlass(input: EvaluateMulticlassInput): MulticlassEvaluationMetrics {
  const { probabilities, labels, classes } = input;
  const k = classes.length;
  const confusion = confusionMatrix(probabilities, labels, k);
  const perClass = perClassMetrics(confusion, classes);
  const top = input.topK ?? Math.min(3, k - 1);
  const slices: Record<string, MulticlassSliceMetric[]> = {};
  for (const [family, keys] of Object.entries(input.slices)) {
    slices[family] = groupSlices(keys, labels.length, input).map(([slice, rows]) => {
      const p = pick(probabilities, rows, k);
      const y = pick(labels, rows);
      return {
        slice,
        rows: rows.length,
        accuracy: accuracy(p, y, k),
        macroF1: macroF1(perClassMetrics(confusionMatrix(p, y, k), classes)),
        logLoss: multiclassLogLoss(p, y, k),
      };
    });
  }
  return {
    task: 'multiclass',
    rows: labels.length,
    classes: [...classes],
    accuracy: accuracy(probabilities, labels, k),
    macroF1: macroF1(perClass),
    logLoss: multiclassLogLoss(probabilities, labels, k),
    topK: { k: top, accuracy: topKAccuracy(probabilities, labels, k, top) },
    perClass,
    confusion,
    slices,
    worstSlice: worst(slices, (s) => -s.accuracy),
  };
}

/** `max` row indices, evenly spaced, the first and the last kept: a deterministic chart sample. */
function evenlySpaced(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1)));
}

function histogram(values: readonly number[], bins: number): ResidualBin[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return [{ lower: lo, upper: hi, count: values.length }];
  const width = (hi - lo) / bins;
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
  return counts.map((count, b) => ({ lower: lo + b * width, upper: b === bins - 1 ? hi : lo + (b + 1) * width, count }));
}

export function evaluateRegression(input: EvaluateRegressionInput): RegressionEvaluationMetrics {
  const { predictions, targets } = input;
  const n = targets.length;
  const summary = residualSummary(predictions, targets);
  const slices: Record<string, RegressionSliceMetric[]> = {};
  for (const [family, keys] of Object.entries(input.slices)) {
    slices[family] = groupSlices(keys, n, input).map(([slice, rows]) => {
      const p = pick(predictions, rows);
      const y = pick(targets, rows);
      return { slice, rows: rows.length, rmse: rmse(p, y), mae: mae(p, y) };
    });
  }
  let targetMean = 0;
  for (let i = 0; i < n; i++) targetMean += targets[i]!;
  targetMean /= n;
  const residuals = Array.from({ length: n }, (_, i) => targets[i]! - predictions[i]!);
  return {
    task: 'regression',
    rows: n,
    rmse: rmse(predictions, targets),
    mae: mae(predictions, targets),
    r2: r2(predictions, targets),
    targetMean,
    residuals: summary,
    slices,
    worstSlice: worst(slices, (s) => s.rmse),
    charts: {
      scatter: evenlySpaced(n, input.maxScatterPoints ?? 500).map((i) => ({ actual: targets[i]!, predicted: predictions[i]! })),
      residualHistogram: histogram(residuals, input.residualBins ?? 30),
    },
  };
}
