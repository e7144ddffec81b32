// One evaluation of a binary classifier as a plain-JSON record (what the evaluate activity
// returns and the registry stores), and latency measurement of its ONNX session.
import type { OnnxSession } from '../onnx/index.ts';
import { percentile } from '../percentile.ts';
import { rocAuc } from './auc.ts';
import {
  brierScore,
  calibration,
  calibrationError,
  chooseThreshold,
  confusionAt,
  logLoss,
  MAX_CURVE_POINTS,
  prAuc,
  prCurve,
  rocCurve,
  sliceMetrics,
  worstSlice,
  type CalibrationBin,
  type Labels,
  type PrPoint,
  type RocPoint,
  type Scores,
  type SliceMetric,
} from './metrics.ts';

export interface EvaluateBinaryInput {
  /** Test-set scores and labels: every reported metric is computed on these. */
  scores: Scores;
  labels: Labels;
  /** Validation-set scores and labels: only the decision threshold is chosen on these. */
  validationScores: Scores;
  validationLabels: Labels;
  /** Slice keys per family, one per test row, e.g. `{ origin: ['ORD', 'ATL', …] }`. */
  slices: Record<string, readonly string[]>;
  /** @default 10 */
  calibrationBins?: number;
  /** @default 200 */
  minSliceRows?: number;
  /** Per family. @default 20 */
  maxSlices?: number;
  /** @default 200 */
  maxCurvePoints?: number;
}

/** A slice with the family it belongs to, e.g. family `origin`, slice `ORD`. */
export interface NamedSliceMetric extends SliceMetric {
  family: string;
}

export interface EvaluationMetrics {
  rows: number;
  positives: number;
  rocAuc: number;
  /** Average precision (step-wise area under the precision–recall curve). */
  prAuc: number;
  logLoss: number;
  brier: number;
  /** Expected calibration error over `curves.calibration`. */
  ece: number;
  /** Decision threshold (score ≥ threshold → delayed), chosen for F1 on validation rows. */
  threshold: number;
  /** On the test rows, at `threshold`. */
  precision: number;
  recall: number;
  f1: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
  /** Per family, largest slices first. */
  slices: Record<string, SliceMetric[]>;
  /** Lowest-AUC slice over all families; null when no slice has both classes. */
  worstSlice: NamedSliceMetric | null;
  curves: { roc: RocPoint[]; pr: PrPoint[]; calibration: CalibrationBin[] };
}

/** `origin=ORD`: how slices are named in summaries and charts. */
export function sliceName(slice: { family: string; slice: string }): string {
  return `${slice.family}=${slice.slice}`;
}

export function evaluateBinary(input: EvaluateBinaryInput): EvaluationMetrics {
  const { scores, labels } = input;
  const maxCurvePoints = input.maxCurvePoints ?? MAX_CURVE_POINTS;
  const threshold = chooseThreshold(input.validationScores, input.validationLabels, 'f1');
  const { tp, fp, tn, fn, precision, recall, f1 } = confusionAt(scores, labels, threshold);
  const bins = calibration(scores, labels, input.calibrationBins ?? 10);
  const sliceOptions = { minRows: input.minSliceRows ?? 200, maxSlices: input.maxSlices ?? 20 };
  const slices: Record<string, SliceMetric[]> = {};
  const worstPerFamily: NamedSliceMetric[] = [];
  for (const [family, keys] of Object.entries(input.slices)) {
    const familySlices = sliceMetrics(scores, labels, keys, sliceOptions);
    slices[family] = familySlices;
    const worst = worstSlice(familySlices);
    if (worst) worstPerFamily.push({ family, ...worst });
  }
  return {
    rows: scores.length,
    positives: tp + fn,
    rocAuc: rocAuc(scores, labels),
    prAuc: prAuc(scores, labels),
    logLoss: logLoss(scores, labels),
    brier: brierScore(scores, labels),
    ece: calibrationError(bins),
    threshold,
    precision,
    recall,
    f1,
    confusion: { tp, fp, tn, fn },
    slices,
    worstSlice: worstSlice(worstPerFamily),
    curves: { roc: rocCurve(scores, labels, maxCurvePoints), pr: prCurve(scores, labels, maxCurvePoints), calibration: bins },
  };
}

export interface BatchLatency {
  batchSize: number;
  /** Timed runs (after the warm-up runs). */
  iterations: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Wall-clock latency of `session.run` per batch size: warm-up runs first (a tenth of
 * `iterations`, at least 10: ORT allocates and the JIT compiles on the first calls), then
 * `iterations` timed runs, one at a time, on a fixed pseudo-random batch of width `dim`.
 */
export async function measureLatency(
  session: OnnxSession,
  dim: number,
  batchSizes: readonly number[] = [1, 64],
  iterations = 200,
): Promise<BatchLatency[]> {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  const warmup = Math.max(10, Math.ceil(iterations / 10));
  const results: BatchLatency[] = [];
  for (const batchSize of batchSizes) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    // Values do not change an MLP's cost; they only need to be finite and not all zero.
    const x = Float32Array.from({ length: batchSize * dim }, (_, i) => ((i * 7919) % 101) / 101);
    for (let i = 0; i < warmup; i++) await session.run(x, batchSize);
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const start = performance.now();
      await session.run(x, batchSize);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    results.push({ batchSize, iterations, p50Ms: percentile(times, 0.5)!, p99Ms: percentile(times, 0.99)! });
  }
  return results;
}
