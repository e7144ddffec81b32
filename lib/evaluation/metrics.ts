// Binary-classifier metrics beyond ROC AUC: ranking (average precision), probability quality
// (log loss, Brier, calibration), a decision threshold, per-slice AUC, and curves for charts.
// Pure functions over `scores` (predicted P(label = 1)) and `labels` (0 or 1); they throw a
// RangeError on mismatched lengths, empty input, labels other than 0/1 or non-finite scores.
import { rocAuc } from './auc.ts';

export type Scores = ArrayLike<number>;
export type Labels = ArrayLike<number>;

/** Probabilities are clipped to [ε, 1 − ε] before taking logs, as scikit-learn did. */
export const LOG_LOSS_EPSILON = 1e-15;

/** Cumulative counts when everything scoring ≥ `threshold` is called positive. */
interface SweepPoint {
  threshold: number;
  tp: number;
  fp: number;
}

interface Sweep {
  /** One point per distinct score, highest threshold first. */
  points: SweepPoint[];
  positives: number;
  negatives: number;
}

function checkInputs(scores: Scores, labels: Labels): void {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`scores (${n}) and labels (${labels.length}) differ in length`);
  if (n === 0) throw new RangeError('metrics need at least one row');
  for (let i = 0; i < n; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new RangeError(`label at row ${i} is ${label}, not 0 or 1`);
    if (!Number.isFinite(scores[i])) throw new RangeError(`score at row ${i} is ${scores[i]}`);
  }
}

function sweep(scores: Scores, labels: Labels): Sweep {
  checkInputs(scores, labels);
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const points: SweepPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n;) {
    const threshold = scores[order[i]!]!;
    // Tied scores share one threshold: a cut cannot separate them.
    for (; i < n && scores[order[i]!] === threshold; i++) {
      if (labels[order[i]!] === 1) tp++;
      else fp++;
    }
    points.push({ threshold, tp, fp });
  }
  return { points, positives: tp, negatives: fp };
}

function needPositives(positives: number, what: string): void {
  if (positives === 0) throw new RangeError(`${what} needs at least one positive label`);
}

/**
 * Average precision, scikit-learn's `average_precision_score`: Σₙ (Rₙ − Rₙ₋₁)·Pₙ over distinct
 * thresholds, highest first. Step-wise, not the trapezoid, which is optimistic on PR curves.
 */
export function prAuc(scores: Scores, labels: Labels): number {
  const { points, positives } = sweep(scores, labels);
  needPositives(positives, 'average precision');
  let ap = 0;
  let previousTp = 0;
  for (const { tp, fp } of points) {
    ap += ((tp - previousTp) / positives) * (tp / (tp + fp));
    previousTp = tp;
  }
  return ap;
}

/** Mean negative log-likelihood of the labels, with scores clipped to [1e-15, 1 − 1e-15]. */
export function logLoss(scores: Scores, labels: Labels): number {
  checkInputs(scores, labels);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    const p = Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, scores[i]!));
    sum -= labels[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return sum / scores.length;
}

/** Mean squared difference between score and label. */
export function brierScore(scores: Scores, labels: Labels): number {
  checkInputs(scores, labels);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += (scores[i]! - labels[i]!) ** 2;
  return sum / scores.length;
}

export interface CalibrationBin {
  /** Bin edges: [lower, upper), the last bin also holds scores of exactly 1. */
  lower: number;
  upper: number;
  /** Mean score of the rows in the bin. */
  meanPredicted: number;
  /** Share of positive labels among them. */
  observedRate: number;
  count: number;
}

/**
 * Reliability diagram: `bins` equal-width score bins over [0, 1]; empty bins are left out (as
 * scikit-learn's `calibration_curve` does). Scores outside [0, 1] fall in the end bins.
 */
export function calibration(scores: Scores, labels: Labels, bins = 10): CalibrationBin[] {
  checkInputs(scores, labels);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const sums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < scores.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(scores[i]! * bins)));
    sums[b] = sums[b]! + scores[i]!;
    positives[b] = positives[b]! + labels[i]!;
    counts[b] = counts[b]! + 1;
  }
  const result: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = counts[b]!;
    if (count === 0) continue;
    result.push({ lower: b / bins, upper: (b + 1) / bins, meanPredicted: sums[b]! / count, observedRate: positives[b]! / count, count });
  }
  return result;
}

/** ECE from reliability bins: Σ (count / rows) · |observed rate − mean predicted|. */
export function calibrationError(bins: readonly CalibrationBin[]): number {
  const rows = bins.reduce((n, bin) => n + bin.count, 0);
  if (rows === 0) throw new RangeError('calibration error needs at least one row');
  return bins.reduce((sum, bin) => sum + (bin.count / rows) * Math.abs(bin.observedRate - bin.meanPredicted), 0);
}

/** Expected calibration error over `bins` equal-width bins, weighted by bin counts. */
export function expectedCalibrationError(scores: Scores, labels: Labels, bins = 10): number {
  return calibrationError(calibration(scores, labels, bins));
}

export const THRESHOLD_OBJECTIVES = ['f1'] as const;
export type ThresholdObjective = (typeof THRESHOLD_OBJECTIVES)[number];

/**
 * The score threshold (predict positive when score ≥ threshold) that maximizes the objective
 * on these rows, which should be validation rows, never the test rows it is reported on.
 * Candidates are the distinct scores; among equal objective values the highest threshold wins.
 */
export function chooseThreshold(scores: Scores, labels: Labels, objective: ThresholdObjective = 'f1'): number {
  if (!THRESHOLD_OBJECTIVES.includes(objective)) throw new RangeError(`unknown threshold objective ${String(objective)}`);
  const { points, positives } = sweep(scores, labels);
  needPositives(positives, 'choosing an F1 threshold');
  let best = points[0]!;
  let bestF1 = -1;
  for (const point of points) {
    // F1 = 2TP / (2TP + FP + FN), with FN = positives − TP.
    const f1 = (2 * point.tp) / (point.tp + point.fp + positives);
    if (f1 > bestF1) {
      bestF1 = f1;
      best = point;
    }
  }
  return best.threshold;
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** TP / (TP + FP); 0 when nothing is predicted positive. */
  precision: number;
  /** TP / (TP + FN); 0 when there are no positives. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

/** Confusion counts and rates when rows scoring ≥ `threshold` are predicted positive. */
export function confusionAt(scores: Scores, labels: Labels, threshold: number): Confusion {
  checkInputs(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i]! >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { tp, fp, tn, fn, precision, recall, f1 };
}

export interface RocPoint {
  fpr: number;
  tpr: number;
}

export interface PrPoint {
  recall: number;
  precision: number;
}

/** Charts draw at most this many points per curve. */
export const MAX_CURVE_POINTS = 200;

/** Keeps `max` points at evenly spaced indices, always the first and the last. */
function downsample<T>(points: T[], max: number): T[] {
  if (points.length <= max) return points;
  if (max < 2) throw new RangeError(`maxPoints must be at least 2, got ${max}`);
  return Array.from({ length: max }, (_, i) => points[Math.round((i * (points.length - 1)) / (max - 1))]!);
}

/** ROC curve from (0, 0) to (1, 1), one point per distinct threshold, downsampled for charts. */
export function rocCurve(scores: Scores, labels: Labels, maxPoints = MAX_CURVE_POINTS): RocPoint[] {
  const { points, positives, negatives } = sweep(scores, labels);
  if (positives === 0 || negatives === 0) throw new RangeError('a ROC curve needs both positive and negative labels');
  const curve = [{ fpr: 0, tpr: 0 }, ...points.map(({ tp, fp }) => ({ fpr: fp / negatives, tpr: tp / positives }))];
  return downsample(curve, maxPoints);
}

/**
 * Precision–recall curve from (recall 0, precision 1), one point per distinct threshold,
 * downsampled for charts. Average precision is the step-wise area under it.
 */
export function prCurve(scores: Scores, labels: Labels, maxPoints = MAX_CURVE_POINTS): PrPoint[] {
  const { points, positives } = sweep(scores, labels);
  needPositives(positives, 'a precision–recall curve');
  const curve = [{ recall: 0, precision: 1 }, ...points.map(({ tp, fp }) => ({ recall: tp / positives, precision: tp / (tp + fp) }))];
  return downsample(curve, maxPoints);
}

export interface SliceMetric {
  /** The slice's key, e.g. an origin airport code. */
  slice: string;
  rows: number;
  positives: number;
  /** null when the slice holds a single class, where AUC is undefined. */
  auc: number | null;
  logLoss: number;
}

export interface SliceOptions {
  /** Slices with fewer rows are left out: their AUC is mostly noise. @default 200 */
  minRows?: number;
  /** Only the largest slices are kept. @default 20 */
  maxSlices?: number;
}

/** Metrics per slice key (row i belongs to `sliceKeys[i]`), largest slices first. */
export function sliceMetrics(scores: Scores, labels: Labels, sliceKeys: readonly string[], options: SliceOptions = {}): SliceMetric[] {
  checkInputs(scores, labels);
  if (sliceKeys.length !== scores.length) {
    throw new RangeError(`sliceKeys (${sliceKeys.length}) and scores (${scores.length}) differ in length`);
  }
  const { minRows = 200, maxSlices = 20 } = options;
  const groups = new Map<string, number[]>();
  sliceKeys.forEach((key, i) => {
    const rows = groups.get(key);
    if (rows) rows.push(i);
    else groups.set(key, [i]);
  });
  return [...groups]
    .filter(([, rows]) => rows.length >= minRows)
    .sort(([a, rowsA], [b, rowsB]) => rowsB.length - rowsA.length || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxSlices)
    .map(([slice, rows]) => {
      const sliceScores = rows.map((i) => scores[i]!);
      const sliceLabels = rows.map((i) => labels[i]!);
      const positives = sliceLabels.reduce((n, label) => n + label, 0);
      const bothClasses = positives > 0 && positives < rows.length;
      return {
        slice,
        rows: rows.length,
        positives,
        auc: bothClasses ? rocAuc(sliceScores, sliceLabels) : null,
        logLoss: logLoss(sliceScores, sliceLabels),
      };
    });
}

/** The slice with the lowest AUC among those with both classes (the larger one on ties). */
export function worstSlice<T extends SliceMetric>(slices: readonly T[]): T | null {
  let worst: T | null = null;
  let worstAuc = Infinity;
  for (const slice of slices) {
    if (slice.auc === null) continue;
    if (slice.auc < worstAuc || (worst !== null && slice.auc === worstAuc && slice.rows > worst.rows)) {
      worst = slice;
      worstAuc = slice.auc;
    }
  }
  return worst;
}
