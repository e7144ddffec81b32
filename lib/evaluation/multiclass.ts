// Multiclass metrics over row-major probabilities (`rows × K`, row i is P(class k | row i)) and
// class-index labels: accuracy, macro-F1, per-class precision/recall/F1, top-k accuracy, log
// loss and the confusion matrix. The predicted class is the argmax (the lowest index on ties).
// They throw a RangeError on empty input, mismatched lengths, labels outside [0, K) or
// non-finite probabilities.
import { argmax } from '../tasks/task.ts';
import { LOG_LOSS_EPSILON } from './metrics.ts';

export interface ClassMetric {
  class: string;
  /** Rows whose label is this class. */
  support: number;
  /** Rows predicted as this class. */
  predicted: number;
  /** 0 when the class is never predicted (scikit-learn's zero_division=0). */
  precision: number;
  /** 0 when the class never occurs. */
  recall: number;
  f1: number;
}

function checkInputs(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`multiclass metrics need at least 2 classes, got ${k}`);
  const n = labels.length;
  if (n === 0) throw new RangeError('metrics need at least one row');
  if (probabilities.length !== n * k) {
    throw new RangeError(`probabilities (${probabilities.length}) are not labels (${n}) × classes (${k})`);
  }
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    if (!Number.isInteger(label) || label < 0 || label >= k)
      throw new RangeError(`label at row ${i} is ${label}, not a class index in [0, ${k})`);
  }
  for (let i = 0; i < probabilities.length; i++) {
    if (!Number.isFinite(probabilities[i])) throw new RangeError(`probability at row ${Math.floor(i / k)} is ${probabilities[i]}`);
  }
  return n;
}

/** Predicted class index per row (argmax). */
export function predictedClasses(probabilities: ArrayLike<number>, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) out[i] = argmax(probabilities, i * k, k);
  return out;
}

/** `matrix[actual][predicted]` counts. */
export function confusionMatrix(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number): number[][] {
  const n = checkInputs(probabilities, labels, k);
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  const predicted = predictedClasses(probabilities, n, k);
  for (let i = 0; i < n; i++) matrix[labels[i]!]![predicted[i]!]!++;
  return matrix;
}

/** Share of rows whose argmax is the label. */
export function accuracy(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  return topKAccuracy(probabilities, labels, k, 1);
}

/**
 * Share of rows whose label is among the `top` most probable classes. A class tied with the
 * top-th counts only if it has a lower index (the order argmax uses), so top-1 is accuracy.
 */
export function topKAccuracy(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number, top: number): number {
  const n = checkInputs(probabilities, labels, k);
  if (!Number.isInteger(top) || top < 1) throw new RangeError(`top must be a positive integer, got ${top}`);
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const label = labels[i]!;
    const p = probabilities[i * k + label]!;
    let better = 0;
    for (let j = 0; j < k; j++) {
      const q = probabilities[i * k + j]!;
      if (q > p || (q === p && j < label)) better++;
    }
    if (better < top) hits++;
  }
  return hits / n;
}

/** Mean −ln P(label), probabilities clipped to [1e-15, 1 − 1e-15]. */
export function multiclassLogLoss(probabilities: ArrayLike<number>, labels: ArrayLike<number>, k: number): number {
  const n = checkInputs(probabilities, labels, k);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum -= Math.log(Math.min(1 - LOG_LOSS_EPSILON, Math.max(LOG_LOSS_EPSILON, probabilities[i * k + labels[i]!]!)));
  }
  return sum / n;
}

/** Precision, recall and F1 per class from a confusion matrix, in class order. */
export function perClassMetrics(matrix: readonly (readonly number[])[], classes: readonly string[]): ClassMetric[] {
  return classes.map((name, c) => {
    const tp = matrix[c]![c]!;
    const support = matrix[c]!.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[c]!, 0);
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    return { class: name, support, predicted, precision, recall, f1 };
  });
}

/**
 * Unweighted mean F1 over the classes that occur in the labels or the predictions (as
 * scikit-learn's `f1_score(average='macro')` does): a class absent from both says nothing about
 * this model, while a class that occurs and is never predicted counts with F1 0.
 */
export function macroF1(perClass: readonly ClassMetric[]): number {
  const present = perClass.filter((c) => c.support > 0 || c.predicted > 0);
  if (present.length === 0) throw new RangeError('macro-F1 needs at least one row');
  return present.reduce((sum, c) => sum + c.f1, 0) / present.length;
}
