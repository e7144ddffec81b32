// The MLP as plain TF.js variables (no Layers API), so every source of randomness is ours:
// seeded Glorot initialization, dropout masks seeded per step, and a loss computed from logits
// (numerically stable weighted binary or categorical cross-entropy, or squared error, plus L2).
import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from './checkpoint-format.ts';
import type { Rng } from '../../random.ts';

export interface MlpShape {
  inputDim: number;
  /** Hidden layer widths; [] is logistic regression. */
  hidden: number[];
  /** Output units: 1 (a sigmoid probability or a regression value) or K softmax classes. @default 1 */
  outputs?: number;
}

export interface MlpVariables {
  kernels: tf.Variable[];
  biases: tf.Variable[];
  /** Checkpoint names (`kernel_0`, …, `bias_0`, …), in the order of kernels then biases.
   * TF.js variable names must be unique per process, so the variables themselves get a prefix. */
  names: string[];
}

let instances = 0;

export function layerSizes(shape: MlpShape): Array<[number, number]> {
  const sizes = [shape.inputDim, ...shape.hidden, shape.outputs ?? 1];
  return sizes.slice(0, -1).map((n, i) => [n, sizes[i + 1]!]);
}

export function initVariables(shape: MlpShape, rng: Rng): MlpVariables {
  const kernels: tf.Variable[] = [];
  const biases: tf.Variable[] = [];
  const prefix = `mlp${++instances}`;
  const sizes = layerSizes(shape);
  sizes.forEach(([fanIn, fanOut], i) => {
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanIn * fanOut);
    for (let k = 0; k < w.length; k++) w[k] = (rng.next() * 2 - 1) * limit;
    kernels.push(tf.variable(tf.tensor2d(w, [fanIn, fanOut]), true, `${prefix}/kernel_${i}`));
    biases.push(tf.variable(tf.zeros([fanOut]), true, `${prefix}/bias_${i}`));
  });
  const names = [...sizes.map((_, i) => `kernel_${i}`), ...sizes.map((_, i) => `bias_${i}`)];
  return { kernels, biases, names };
}

/** Logits for a batch; dropout applies to hidden activations when `dropout` has seeds. */
export function logits(vars: MlpVariables, x: tf.Tensor2D, dropout?: { rate: number; seeds: number[] }): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  const last = vars.kernels.length - 1;
  vars.kernels.forEach((kernel, i) => {
    h = tf.add(tf.matMul(h, kernel as tf.Tensor2D), vars.biases[i]!) as tf.Tensor2D;
    if (i < last) {
      h = tf.relu(h);
      if (dropout && dropout.rate > 0) {
        const keep = 1 - dropout.rate;
        const mask = tf.cast(tf.less(tf.randomUniform(h.shape, 0, 1, 'float32', dropout.seeds[i]!), keep), 'float32');
        h = tf.div(tf.mul(h, mask), keep) as tf.Tensor2D;
      }
    }
  });
  return h;
}

/** Mean of w_y · BCE(sigmoid(z), y), computed stably from logits z. */
export function weightedBce(z: tf.Tensor2D, y: tf.Tensor2D, w: tf.Tensor2D): tf.Scalar {
  const perRow = tf.add(tf.sub(tf.relu(z), tf.mul(z, y)), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));
  return tf.div(tf.sum(tf.mul(perRow, w)), tf.sum(w)) as tf.Scalar;
}

/** Mean of w_y · −ln softmax(z)_y over rows, from logits z; `oneHot` is [n, K], `w` is [n]. */
export function weightedSoftmaxCe(z: tf.Tensor2D, oneHot: tf.Tensor2D, w: tf.Tensor1D): tf.Scalar {
  const perRow = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(z)), 1));
  return tf.div(tf.sum(tf.mul(perRow, w)), tf.sum(w)) as tf.Scalar;
}

/** Mean squared error of the linear output z against targets y, both [n, 1]. */
export function meanSquaredError(z: tf.Tensor2D, y: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.squaredDifference(z, y)) as tf.Scalar;
}

export function l2Penalty(vars: MlpVariables, l2: number): tf.Scalar {
  if (l2 === 0) return tf.scalar(0);
  return tf.mul(l2, tf.addN(vars.kernels.map((k) => tf.sum(tf.square(k))))) as tf.Scalar;
}

export function snapshot(vars: MlpVariables): NamedTensor[] {
  return [...vars.kernels, ...vars.biases].map((v, i) => ({
    name: vars.names[i]!,
    shape: v.shape,
    data: Float32Array.from(v.dataSync() as Float32Array),
  }));
}

export function restore(vars: MlpVariables, tensors: readonly NamedTensor[]): void {
  const byName = new Map(tensors.map((t) => [t.name, t]));
  [...vars.kernels, ...vars.biases].forEach((v, i) => {
    const name = vars.names[i]!;
    const t = byName.get(name);
    if (!t) throw new Error(`checkpoint has no tensor ${name}`);
    if (t.shape.join('x') !== v.shape.join('x'))
      throw new Error(`checkpoint tensor ${name} has shape ${t.shape.join('x')}, model has ${v.shape.join('x')}`);
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape)));
  });
}

export function disposeVariables(vars: MlpVariables): void {
  [...vars.kernels, ...vars.biases].forEach((v) => v.dispose());
}
