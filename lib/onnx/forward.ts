// Plain-JS float32 forward pass: the reference the exported models are tested against, and the
// observer that collects activation ranges for static int8 calibration.
import type { MlpActivation, MlpWeights } from './types.ts';
import { checkRows, validateMlp } from './validate.ts';

/** Observed range of one tensor over the calibration rows. */
export interface ActivationRange {
  min: number;
  max: number;
}

function activate(activation: MlpActivation, v: number): number {
  if (activation === 'relu') return v > 0 ? v : 0;
  if (activation === 'sigmoid') return 1 / (1 + Math.exp(-v));
  return v;
}

/** Softmax of `logits` (max subtracted first, so exp never overflows) into `out` at `offset`. */
function softmaxInto(logits: Float64Array, out: Float32Array, offset: number): void {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  for (let j = 0; j < logits.length; j++) out[offset + j] = Math.exp(logits[j]! - max) / sum;
}

function observe(range: ActivationRange, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < range.min) range.min = v;
    if (v > range.max) range.max = v;
  }
}

/**
 * Runs `rows` rows (row-major `rows × inputDim`) through the MLP. With `ranges`, also records
 * the min/max of the input (index 0) and of each layer's output (index i + 1).
 */
export function forwardMlp(mlp: MlpWeights, x: Float32Array, rows: number, ranges?: ActivationRange[]): Float32Array {
  validateMlp(mlp);
  checkRows(x, rows, mlp.inputDim);
  if (ranges) {
    ranges.length = 0;
    ranges.push({ min: Infinity, max: -Infinity });
    for (const _ of mlp.layers) ranges.push({ min: Infinity, max: -Infinity });
    observe(ranges[0]!, x);
  }
  let input = x;
  mlp.layers.forEach((layer, li) => {
    const { inputs, units, weights, bias, activation } = layer;
    const out = new Float32Array(rows * units);
    const acc = new Float64Array(units);
    for (let r = 0; r < rows; r++) {
      acc.set(bias);
      const rowOffset = r * inputs;
      for (let k = 0; k < inputs; k++) {
        const xv = input[rowOffset + k]!;
        // One-hot features are mostly zeros; skipping them makes calibration cheap.
        if (xv === 0) continue;
        const wOffset = k * units;
        for (let j = 0; j < units; j++) acc[j]! += xv * weights[wOffset + j]!;
      }
      if (activation === 'softmax') softmaxInto(acc, out, r * units);
      else for (let j = 0; j < units; j++) out[r * units + j] = activate(activation, acc[j]!);
    }
    if (ranges) observe(ranges[li + 1]!, out);
    input = out;
  });
  return input;
}
