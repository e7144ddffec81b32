// What a model predicts — binary classification, multiclass classification or regression — and
// everything that follows from it in one place: how labels become training targets, the model's
// output head (width, activation, loss) and the fields a prediction carries.
import { z } from 'zod';

export const TASK_KINDS = ['binary', 'multiclass', 'regression'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

const classes = z
  .array(z.string().min(1, 'a class name is not empty'))
  .min(2, 'a multiclass task has at least 2 classes')
  .refine((c) => new Set(c).size === c.length, { message: 'class names are unique' });

export const taskSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('binary') }),
  /** `classes` in model output order: output k is P(class = classes[k]). */
  z.strictObject({ kind: z.literal('multiclass'), classes }),
  z.strictObject({ kind: z.literal('regression') }),
]);

export type Task = z.output<typeof taskSchema>;
export type MulticlassTask = Extract<Task, { kind: 'multiclass' }>;

/** The binary task, what every model was before tasks existed. */
export const BINARY_TASK: Task = { kind: 'binary' };

export const HEAD_ACTIVATIONS = ['sigmoid', 'softmax', 'linear'] as const;
export type HeadActivation = (typeof HEAD_ACTIVATIONS)[number];

export interface TaskHead {
  /** Width of the model's output: 1, or K for K classes. */
  units: number;
  /** 1 sigmoid probability; K softmax probabilities; 1 linear value. */
  activation: HeadActivation;
  /** What the trainer minimises and early-stops on. */
  loss: 'binary-cross-entropy' | 'categorical-cross-entropy' | 'mean-squared-error';
  /** Name of the ONNX graph output. */
  onnxOutput: 'probability' | 'probabilities' | 'value';
  /** Fields a prediction carries: `probability`; `class` + `probabilities`; `value`. */
  predictionFields: readonly string[];
}

/** The output head of a model for `task`. */
export function taskHead(task: Task): TaskHead {
  switch (task.kind) {
    case 'binary':
      return {
        units: 1,
        activation: 'sigmoid',
        loss: 'binary-cross-entropy',
        onnxOutput: 'probability',
        predictionFields: ['probability'],
      };
    case 'multiclass':
      return {
        units: task.classes.length,
        activation: 'softmax',
        loss: 'categorical-cross-entropy',
        onnxOutput: 'probabilities',
        predictionFields: ['class', 'probabilities'],
      };
    case 'regression':
      return { units: 1, activation: 'linear', loss: 'mean-squared-error', onnxOutput: 'value', predictionFields: ['value'] };
  }
}

/** `binary classification`, … for messages. */
export function describeTask(kind: TaskKind): string {
  return kind === 'regression' ? 'regression' : `${kind} classification`;
}

/** A label that cannot become a training target; names the row and the value. */
export class LabelError extends RangeError {
  override readonly name = 'LabelError';
}

export type LabelValue = string | number | boolean | bigint | null | undefined;

/**
 * The ordered class list of a multiclass label column: its distinct non-null values as text,
 * sorted (numerically when every value is a number), so the same column always fits the same
 * list. Fitted on training rows; output k of the model is `classes[k]`.
 */
export function fitClasses(labels: ArrayLike<LabelValue>): string[] {
  const seen = new Set<string>();
  let numeric = true;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number' && typeof v !== 'bigint') numeric = false;
    seen.add(String(v));
  }
  const out = [...seen];
  return numeric ? out.sort((a, b) => Number(a) - Number(b)) : out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function binaryTarget(v: LabelValue, row: number): number {
  if (v === true || v === 1 || v === 1n || v === '1' || v === 'true') return 1;
  if (v === false || v === 0 || v === 0n || v === '0' || v === 'false') return 0;
  throw new LabelError(`label at row ${row} is ${String(v)}, not 0/1 or true/false`);
}

/**
 * Training targets for `labels`: binary 0/1; multiclass the index of the label in
 * `task.classes`; regression the value as a float. A missing label, an unknown class or a
 * non-finite number throws a `LabelError` naming the row.
 */
export function encodeLabels(task: Task, labels: ArrayLike<LabelValue>): Float32Array {
  const out = new Float32Array(labels.length);
  if (task.kind === 'binary') {
    for (let i = 0; i < labels.length; i++) out[i] = binaryTarget(labels[i], i);
  } else if (task.kind === 'multiclass') {
    const index = new Map(task.classes.map((c, k) => [c, k]));
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      const k = v === null || v === undefined ? undefined : index.get(String(v));
      if (k === undefined) throw new LabelError(`label at row ${i} is ${String(v)}, not one of the ${task.classes.length} fitted classes`);
      out[i] = k;
    }
  } else {
    for (let i = 0; i < labels.length; i++) {
      const v = labels[i];
      const x = typeof v === 'number' ? v : typeof v === 'bigint' || (typeof v === 'string' && v.trim() !== '') ? Number(v) : NaN;
      if (!Number.isFinite(x)) throw new LabelError(`label at row ${i} is ${String(v)}, not a finite number`);
      out[i] = x;
    }
  }
  return out;
}

/** Index of the largest of `values[offset … offset + k)`; the first on ties. */
export function argmax(values: ArrayLike<number>, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}

export type Prediction = { probability: number } | { class: string; probabilities: Record<string, number> } | { value: number };

/** What one row's prediction carries, from the model's output row (`taskHead(task).units` values). */
export function predictionOf(task: Task, output: ArrayLike<number>, offset = 0): Prediction {
  switch (task.kind) {
    case 'binary':
      return { probability: output[offset]! };
    case 'multiclass': {
      const k = task.classes.length;
      const probabilities: Record<string, number> = {};
      task.classes.forEach((c, j) => (probabilities[c] = output[offset + j]!));
      return { class: task.classes[argmax(output, offset, k)]!, probabilities };
    }
    case 'regression':
      return { value: output[offset]! };
  }
}
