// The built-in TF.js trainer: a manual loop over seeded mini-batches with Adam, class weights,
// L2, dropout and early stopping on validation loss, for any task's head (lib/tasks): sigmoid +
// binary cross-entropy, softmax + categorical cross-entropy, or linear + squared error on a
// standardised target, folded back into the last layer so the weights predict in raw units.
// Every bit of state that decides what comes next (weights, Adam moments, RNG, position in the
// epoch, early-stopping counters) goes into a checkpoint, so a resumed run continues where the
// checkpoint left it: same batches, same dropout masks. (Adam's bias-correction powers are
// recomputed on restore, so weights agree to float rounding, not bit for bit.)
import * as tf from '@tensorflow/tfjs';
import type { Checkpoint, NamedTensor, TrainingState } from './checkpoint-format.ts';
import { taskHead, type Task } from '../../tasks/task.ts';
import {
  disposeVariables,
  initVariables,
  l2Penalty,
  layerSizes,
  logits,
  meanSquaredError,
  restore,
  snapshot,
  weightedBce,
  weightedSoftmaxCe,
  type MlpVariables,
} from './model.ts';
import { Rng } from '../../random.ts';
import { createYielder } from './event-loop.ts';
import type { CompressionConfig } from './compress.ts';

export interface MlpTrainConfig {
  /** Hidden layer widths; [] is logistic regression. @default [64, 32] */
  hidden: number[];
  /** @default 0 */
  dropout: number;
  /** @default 1e-5 */
  l2: number;
  /** @default 0.001 */
  learningRate: number;
  /** @default 512 */
  batchSize: number;
  /** @default 5 */
  epochs: number;
  /** Epochs without validation improvement before stopping. @default 2 */
  patience: number;
  /** @default 42 */
  seed: number;
  /** 'balanced' weighs each class by n / (K · n_class) (K = 2 for binary); regression ignores it.
   * @default 'balanced' */
  classWeight: 'balanced' | 'none';
  /**
   * What the model predicts. Left out of `DEFAULT_MLP_CONFIG` (absent means binary) so a binary
   * run's config, and so its checkpoints, stay what they were before tasks existed.
   * @default { kind: 'binary' }
   */
  task?: Task;
  /**
   * Distil and/or prune after training (lib/training/compression.ts); `trainMlp` itself trains the
   * teacher and carries this along. Absent from the defaults, so a run without it is unchanged.
   * @default undefined
   */
  compression?: CompressionConfig;
}

export const DEFAULT_MLP_CONFIG: MlpTrainConfig = {
  hidden: [64, 32],
  dropout: 0,
  l2: 1e-5,
  learningRate: 0.001,
  batchSize: 512,
  epochs: 5,
  patience: 2,
  seed: 42,
  classWeight: 'balanced',
};

export interface Dataset {
  /** Row-major features, rows × dim. */
  x: Float32Array;
  /** Targets from `encodeLabels`: 0/1 (binary), class indices (multiclass) or values (regression). */
  y: Float32Array;
  rows: number;
  dim: number;
}

export interface TrainProgress {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  stepsPerEpoch: number;
  loss: number;
}

export interface TrainHooks {
  /** After every step. */
  onStep?: (p: TrainProgress) => void;
  /** Asked after every step; true → `onCheckpoint` is called with the current state. */
  shouldCheckpoint?: (p: TrainProgress) => boolean;
  onCheckpoint?: (ckpt: Checkpoint) => Promise<void>;
  /** After each epoch's validation. */
  onEpoch?: (e: { epoch: number; loss: number; valLoss: number }) => void;
  /** Checked between steps: when aborted, a checkpoint is written, then the abort reason thrown. */
  signal?: AbortSignal;
}

export interface TrainResult {
  config: MlpTrainConfig;
  /** The weights at the best validation loss. */
  weights: NamedTensor[];
  layers: Array<[number, number]>;
  history: TrainingState['history'];
  bestValLoss: number;
  epochsRun: number;
  stoppedEarly: boolean;
  globalStep: number;
  resumedFrom: { epoch: number; globalStep: number } | null;
  /** Regression only: the training target's mean and standard deviation. The model trained on
   * (y − mean) / std; `weights` already undo it, and `history`/`bestValLoss` are in those units. */
  targetScaling?: { mean: number; std: number };
}

/** n / (K · n_k) per class index k, or all 1; a class absent from training gets n / K. */
export function multiclassWeights(y: Float32Array, k: number, mode: MlpTrainConfig['classWeight']): Float32Array {
  const weights = new Float32Array(k).fill(1);
  if (mode === 'none') return weights;
  const counts = new Float64Array(k);
  for (const v of y) counts[v]!++;
  for (let c = 0; c < k; c++) weights[c] = y.length / (k * Math.max(counts[c]!, 1));
  return weights;
}

/** Mean and population standard deviation (1 when 0) of regression targets. */
export function targetScaling(y: Float32Array): { mean: number; std: number } {
  let mean = 0;
  for (const v of y) mean += v;
  mean /= Math.max(y.length, 1);
  let variance = 0;
  for (const v of y) variance += (v - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(y.length, 1));
  return { mean, std: std > 0 ? std : 1 };
}

/** Refuses targets the task's loss would silently misread (a class index outside [0, K) one-hot
 * encodes as all zeros; a NaN target poisons every gradient). */
function checkTargets(task: Task, data: Dataset, split: string): void {
  if (task.kind === 'binary') return;
  const k = task.kind === 'multiclass' ? task.classes.length : 0;
  for (let i = 0; i < data.rows; i++) {
    const v = data.y[i]!;
    const ok = task.kind === 'multiclass' ? Number.isInteger(v) && v >= 0 && v < k : Number.isFinite(v);
    if (!ok) {
      const want = task.kind === 'multiclass' ? `a class index in [0, ${k})` : 'a finite number';
      throw new RangeError(`${split} target at row ${i} is ${v}, not ${want}`);
    }
  }
}

function scaled(data: Dataset, { mean, std }: { mean: number; std: number }): Dataset {
  return { ...data, y: data.y.map((v) => (v - mean) / std) };
}

/** Last layer of `weights` times std plus mean: the standardised regression model in raw units. */
function unscale(weights: NamedTensor[], lastLayer: number, { mean, std }: { mean: number; std: number }): NamedTensor[] {
  return weights.map((t) => {
    if (t.name === `kernel_${lastLayer}`) return { ...t, data: t.data.map((v) => v * std) };
    if (t.name === `bias_${lastLayer}`) return { ...t, data: t.data.map((v) => v * std + mean) };
    return t;
  });
}

/** The task's loss for a batch, from logits: weighted per row when `rowWeights` is given
 * (multiclass training), unweighted otherwise (validation and early stopping). */
function taskLoss(task: Task, z: tf.Tensor2D, y: Float32Array, rows: number, rowWeights?: Float32Array): tf.Scalar {
  if (task.kind === 'multiclass') {
    const oneHot = tf.oneHot(tf.tensor1d(y, 'int32'), task.classes.length).toFloat() as tf.Tensor2D;
    return weightedSoftmaxCe(z, oneHot, rowWeights ? tf.tensor1d(rowWeights) : tf.ones([rows]));
  }
  if (task.kind === 'regression') return meanSquaredError(z, tf.tensor2d(y, [rows, 1]));
  const target = tf.tensor2d(y, [rows, 1]);
  return weightedBce(z, target, tf.onesLike(target));
}

function classWeights(y: Float32Array, mode: MlpTrainConfig['classWeight']): [number, number] {
  if (mode === 'none') return [1, 1];
  let pos = 0;
  for (const v of y) pos += v;
  const neg = y.length - pos;
  return [y.length / (2 * Math.max(neg, 1)), y.length / (2 * Math.max(pos, 1))];
}

function gather(data: Dataset, order: Uint32Array, start: number, end: number): { x: Float32Array; y: Float32Array } {
  const n = end - start;
  const x = new Float32Array(n * data.dim);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = order[start + i]!;
    x.set(data.x.subarray(r * data.dim, (r + 1) * data.dim), i * data.dim);
    y[i] = data.y[r]!;
  }
  return { x, y };
}

/** Mean unweighted loss of the task (BCE by default) over a dataset, in chunks, without dropout;
 * yields to the event loop between chunks (a large validation split is seconds of compute). */
export async function evaluateLoss(vars: MlpVariables, data: Dataset, chunk = 8192, task?: Task): Promise<number> {
  let total = 0;
  const yielder = createYielder();
  for (let start = 0; start < data.rows; start += chunk) {
    await yielder.maybeYield();
    const end = Math.min(data.rows, start + chunk);
    total += tf.tidy(() => {
      const x = tf.tensor2d(data.x.subarray(start * data.dim, end * data.dim), [end - start, data.dim]);
      if (task && task.kind !== 'binary')
        return taskLoss(task, logits(vars, x), data.y.subarray(start, end), end - start).dataSync()[0]! * (end - start);
      const y = tf.tensor2d(data.y.subarray(start, end), [end - start, 1]);
      return weightedBce(logits(vars, x), y, tf.onesLike(y)).dataSync()[0]! * (end - start);
    });
  }
  return total / data.rows;
}

/**
 * The model's outputs for a dataset, row-major `rows × taskHead(task).units`, in chunks: a sigmoid
 * probability, K softmax probabilities, or the linear value (raw units with `TrainResult.weights`).
 */
export function predictOutputs(vars: MlpVariables, data: Pick<Dataset, 'x' | 'rows' | 'dim'>, task: Task, chunk = 8192): Float32Array {
  if (task.kind === 'binary') return predictProbabilities(vars, data, chunk);
  const units = taskHead(task).units;
  const out = new Float32Array(data.rows * units);
  for (let start = 0; start < data.rows; start += chunk) {
    const end = Math.min(data.rows, start + chunk);
    const values = tf.tidy(() => {
      const z = logits(vars, tf.tensor2d(data.x.subarray(start * data.dim, end * data.dim), [end - start, data.dim]));
      return (task.kind === 'multiclass' ? tf.softmax(z) : z).dataSync();
    });
    out.set(values as Float32Array, start * units);
  }
  return out;
}

/** Probabilities for a dataset, in chunks. */
export function predictProbabilities(vars: MlpVariables, data: Pick<Dataset, 'x' | 'rows' | 'dim'>, chunk = 8192): Float32Array {
  const out = new Float32Array(data.rows);
  for (let start = 0; start < data.rows; start += chunk) {
    const end = Math.min(data.rows, start + chunk);
    const p = tf.tidy(() =>
      tf.sigmoid(logits(vars, tf.tensor2d(data.x.subarray(start * data.dim, end * data.dim), [end - start, data.dim]))).dataSync(),
    );
    out.set(p as Float32Array, start);
  }
  return out;
}

async function optimizerState(optimizer: tf.AdamOptimizer): Promise<NamedTensor[]> {
  const weights = await optimizer.getWeights();
  return Promise.all(
    weights.map(async (w, i) => ({
      name: `adam_${i}`,
      shape: w.tensor.shape,
      data: Float32Array.from((await w.tensor.data()) as Float32Array),
    })),
  );
}

export async function trainMlp(
  partial: Partial<MlpTrainConfig>,
  train: Dataset,
  validation: Dataset,
  hooks: TrainHooks = {},
  resume?: Checkpoint,
): Promise<TrainResult> {
  const config: MlpTrainConfig = { ...DEFAULT_MLP_CONFIG, ...partial };
  if (validation.rows === 0 || train.rows === 0) throw new RangeError('training needs non-empty training and validation data');
  const task: Task = config.task ?? { kind: 'binary' };
  const head = taskHead(task);
  checkTargets(task, train, 'training');
  checkTargets(task, validation, 'validation');
  // Standardised targets keep a regression's loss and gradients near 1 whatever the units.
  const scaling = task.kind === 'regression' ? targetScaling(train.y) : undefined;
  if (scaling) {
    train = scaled(train, scaling);
    validation = scaled(validation, scaling);
  }
  // Binary keeps its original shape object (no `outputs`), so nothing about a binary run changes.
  const shape =
    task.kind === 'binary'
      ? { inputDim: train.dim, hidden: config.hidden }
      : { inputDim: train.dim, hidden: config.hidden, outputs: head.units };
  const vars = initVariables(shape, new Rng(config.seed));
  const optimizer = tf.train.adam(config.learningRate);
  const varList = [...vars.kernels, ...vars.biases];
  const [w0, w1] = classWeights(train.y, config.classWeight);
  const perClass = task.kind === 'multiclass' ? multiclassWeights(train.y, head.units, config.classWeight) : undefined;
  const stepsPerEpoch = Math.ceil(train.rows / config.batchSize);

  let state: TrainingState = {
    epoch: 0,
    stepInEpoch: 0,
    globalStep: 0,
    epochLossSum: 0,
    rngState: new Rng(config.seed ^ 0x5eed).state,
    epochSeed: 0,
    epochSeedDrawn: false,
    bestValLoss: null,
    epochsWithoutImprovement: 0,
    history: [],
  };
  let best: NamedTensor[] = snapshot(vars);
  if (resume) {
    restore(vars, resume.weights);
    if (resume.optimizer.length > 0)
      await optimizer.setWeights(resume.optimizer.map((t) => ({ name: t.name, tensor: tf.tensor(t.data, t.shape) })));
    state = structuredClone(resume.state);
    best = resume.best.length ? resume.best : snapshot(vars);
  }
  const resumedFrom = resume ? { epoch: state.epoch, globalStep: state.globalStep } : null;

  const checkpoint = async (): Promise<Checkpoint> => ({
    version: 1,
    config,
    state: structuredClone(state),
    weights: snapshot(vars),
    optimizer: await optimizerState(optimizer),
    best,
  });

  let stoppedEarly = false;
  // Hands the thread back between steps (see event-loop.ts): the order of computation, and so
  // the weights, are the same as without it.
  const yielder = createYielder();
  try {
    const rng = Rng.restore(state.rngState);
    while (state.epoch < config.epochs) {
      if (!state.epochSeedDrawn) {
        state.epochSeed = rng.int();
        state.rngState = rng.state;
        state.epochSeedDrawn = true;
      }
      const order = new Rng(state.epochSeed).permutation(train.rows);
      const dropoutRng = new Rng(state.epochSeed ^ 0xd509);
      // Dropout seeds of the steps already done are skipped so a resumed epoch replays exactly.
      for (let s = 0; s < state.stepInEpoch * vars.kernels.length; s++) dropoutRng.int();
      while (state.stepInEpoch < stepsPerEpoch) {
        await yielder.maybeYield();
        if (hooks.signal?.aborted) {
          await hooks.onCheckpoint?.(await checkpoint());
          throw hooks.signal.reason ?? new Error('training aborted');
        }
        const start = state.stepInEpoch * config.batchSize;
        const batch = gather(train, order, start, Math.min(train.rows, start + config.batchSize));
        const seeds = vars.kernels.map(() => dropoutRng.int());
        const loss = tf.tidy(() => {
          const x = tf.tensor2d(batch.x, [batch.y.length, train.dim]);
          if (task.kind !== 'binary') {
            const rowWeights = perClass ? batch.y.map((c) => perClass[c]!) : undefined;
            const cost = optimizer.minimize(
              () =>
                tf.add(
                  taskLoss(task, logits(vars, x, { rate: config.dropout, seeds }), batch.y, batch.y.length, rowWeights),
                  l2Penalty(vars, config.l2),
                ) as tf.Scalar,
              true,
              varList,
            );
            return cost!.dataSync()[0]!;
          }
          const y = tf.tensor2d(batch.y, [batch.y.length, 1]);
          const w = tf.add(tf.mul(y, w1 - w0), w0) as tf.Tensor2D;
          const cost = optimizer.minimize(
            () => tf.add(weightedBce(logits(vars, x, { rate: config.dropout, seeds }), y, w), l2Penalty(vars, config.l2)) as tf.Scalar,
            true,
            varList,
          );
          return cost!.dataSync()[0]!;
        });
        state.epochLossSum += loss;
        state.stepInEpoch++;
        state.globalStep++;
        const progress = { epoch: state.epoch, stepInEpoch: state.stepInEpoch, globalStep: state.globalStep, stepsPerEpoch, loss };
        hooks.onStep?.(progress);
        if (hooks.shouldCheckpoint?.(progress) && state.stepInEpoch < stepsPerEpoch) await hooks.onCheckpoint?.(await checkpoint());
      }
      const valLoss = task.kind === 'binary' ? await evaluateLoss(vars, validation) : await evaluateLoss(vars, validation, 8192, task);
      const meanLoss = state.epochLossSum / stepsPerEpoch;
      state.history.push({ epoch: state.epoch, loss: meanLoss, valLoss });
      if (state.bestValLoss === null || valLoss < state.bestValLoss - 1e-7) {
        state.bestValLoss = valLoss;
        state.epochsWithoutImprovement = 0;
        best = snapshot(vars);
      } else {
        state.epochsWithoutImprovement++;
      }
      hooks.onEpoch?.({ epoch: state.epoch, loss: meanLoss, valLoss });
      state.epoch++;
      state.stepInEpoch = 0;
      state.epochLossSum = 0;
      state.epochSeedDrawn = false;
      if (state.epochsWithoutImprovement >= config.patience) {
        stoppedEarly = true;
        break;
      }
      if (state.epoch < config.epochs) await hooks.onCheckpoint?.(await checkpoint());
    }
    const layers = layerSizes(shape);
    return {
      config,
      weights: scaling ? unscale(best, layers.length - 1, scaling) : best,
      layers,
      history: state.history,
      bestValLoss: state.bestValLoss ?? Number.NaN,
      epochsRun: state.history.length,
      stoppedEarly,
      globalStep: state.globalStep,
      resumedFrom,
      ...(scaling ? { targetScaling: scaling } : {}),
    };
  } finally {
    disposeVariables(vars);
    optimizer.dispose();
  }
}
