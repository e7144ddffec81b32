// The trainer's compression step with its gate: the trained MLP (the teacher) is distilled and/or
// pruned, both are scored on the validation split, and the compressed model is kept only when its
// main metric (binary ROC AUC, multiclass accuracy) is at most `maxMetricDrop` below the teacher's.
import type { CompressionReport } from '../contracts/train-model.ts';
import { rocAuc } from '../evaluation/auc.ts';
import { checkVariantGate, type VariantGate } from '../evaluation/variant-gate.ts';
import type { Task } from '../tasks/task.ts';
import {
  compressMlp,
  kernelParameters,
  predictLogits,
  sparsityAgainst,
  type CompressionConfig,
  type MlpModel,
  type TuneOptions,
} from './tfjs/compress.ts';
import type { Dataset } from './tfjs/trainer.ts';

export interface CompressionOutcome {
  /** The model to export: the compressed one when it passed its gate, else the teacher. */
  model: MlpModel;
  report: CompressionReport & { gate: VariantGate; applied: boolean };
}

/** Binary: ROC AUC of the logits (same ranking as probabilities); multiclass: argmax accuracy. */
export async function mainMetric(task: Task, model: MlpModel, data: Dataset): Promise<number> {
  const z = await predictLogits(model, data);
  if (task.kind === 'binary') return rocAuc(z, data.y);
  const k = model.layers[model.layers.length - 1]![1];
  let hits = 0;
  for (let r = 0; r < data.rows; r++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (z[r * k + c]! > z[r * k + best]!) best = c;
    if (best === data.y[r]) hits++;
  }
  return data.rows === 0 ? NaN : hits / data.rows;
}

const parameters = (m: MlpModel) => kernelParameters(m.layers) + m.layers.reduce((n, [, o]) => n + o, 0);

export async function compressWithGate(
  teacher: MlpModel,
  train: Dataset,
  validation: Dataset,
  config: CompressionConfig,
  options: TuneOptions,
): Promise<CompressionOutcome> {
  const { model, steps } = await compressMlp(teacher, train, validation, config, options);
  const metric = options.task.kind === 'binary' ? 'rocAuc' : 'accuracy';
  const teacherMetric = await mainMetric(options.task, teacher, validation);
  const compressedMetric = await mainMetric(options.task, model, validation);
  const gate = checkVariantGate(
    options.task.kind,
    { [metric]: teacherMetric },
    { [metric]: compressedMetric },
    config.maxMetricDrop,
    steps.join('+'),
    'teacher',
  );
  return {
    model: gate.passed ? model : teacher,
    report: {
      steps,
      teacher: { hidden: [...teacher.hidden], parameters: parameters(teacher) },
      compressed: { hidden: [...model.hidden], parameters: parameters(model) },
      sparsity: sparsityAgainst(teacher, model),
      metric,
      teacherMetric,
      compressedMetric,
      gate,
      applied: gate.passed,
    },
  };
}
