// Regression metrics over predictions and targets (same length, finite): RMSE, MAE, R² and a
// residual summary. They throw a RangeError on empty input, mismatched lengths or non-finite
// values. Residuals are target − prediction (positive: the model predicted too low).
import { percentile } from '../percentile.ts';

function checkInputs(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = predictions.length;
  if (targets.length !== n) throw new RangeError(`predictions (${n}) and targets (${targets.length}) differ in length`);
  if (n === 0) throw new RangeError('metrics need at least one row');
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(predictions[i])) throw new RangeError(`prediction at row ${i} is ${predictions[i]}`);
    if (!Number.isFinite(targets[i])) throw new RangeError(`target at row ${i} is ${targets[i]}`);
  }
  return n;
}

export function rmse(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = checkInputs(predictions, targets);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (targets[i]! - predictions[i]!) ** 2;
  return Math.sqrt(sum / n);
}

export function mae(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = checkInputs(predictions, targets);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.abs(targets[i]! - predictions[i]!);
  return sum / n;
}

/**
 * Coefficient of determination 1 − SS_res / SS_tot. Constant targets (SS_tot = 0) make it
 * undefined; like scikit-learn, it is then 1 for a perfect prediction and 0 otherwise, so a gate
 * on it never sees NaN.
 */
export function r2(predictions: ArrayLike<number>, targets: ArrayLike<number>): number {
  const n = checkInputs(predictions, targets);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += targets[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    ssRes += (targets[i]! - predictions[i]!) ** 2;
    ssTot += (targets[i]! - mean) ** 2;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : 0;
  return 1 - ssRes / ssTot;
}

export interface ResidualSummary {
  /** Mean of target − prediction: the bias (positive: predictions too low on average). */
  mean: number;
  /** Population standard deviation of the residuals. */
  std: number;
  min: number;
  p05: number;
  median: number;
  p95: number;
  max: number;
}

export function residualSummary(predictions: ArrayLike<number>, targets: ArrayLike<number>): ResidualSummary {
  const n = checkInputs(predictions, targets);
  const residuals = Array.from({ length: n }, (_, i) => targets[i]! - predictions[i]!).sort((a, b) => a - b);
  const mean = residuals.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(residuals.reduce((a, r) => a + (r - mean) ** 2, 0) / n);
  return {
    mean,
    std,
    min: residuals[0]!,
    p05: percentile(residuals, 0.05)!,
    median: percentile(residuals, 0.5)!,
    p95: percentile(residuals, 0.95)!,
    max: residuals[n - 1]!,
  };
}
