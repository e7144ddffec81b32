// Proposes the model spec (docs/model-spec.md) that ties the other two files together: the task,
// the data's label, time, partitions and source, a small MLP, and gates set from a baseline
// measured on the data (the majority class, or predicting the mean), so a model that learned
// nothing fails them.
import type { CsvOptionsInput, SourceFormat } from '../data/source-spec.ts';
import type { TaskKind } from '../tasks/task.ts';
import { comment, flow, noted, outward, short } from './yaml-text.ts';

/** Below this many rows the proposal trains in batches of 64 rather than 512. */
export const SMALL_TABLE_ROWS = 20_000;

export type LabelBaseline =
  | { task: 'binary'; positiveShare: number }
  | { task: 'multiclass'; classes: number; majorityClass: string; majorityShare: number }
  | { task: 'regression'; mean: number; std: number };

export interface ModelProposalInput {
  name: string;
  dataset: string;
  task: TaskKind;
  label: string;
  time?: string;
  source: { uri: string; format?: SourceFormat; csv?: CsvOptionsInput };
  rows: number;
  baseline: LabelBaseline;
  /** The first month, `YYYY-MM`, for the comment beside the partitioning. */
  firstPartition?: string;
  /** The task's reason, for the comment beside `task`. */
  taskReason: string;
}

/** Macro-F1 of always answering the majority class: its F1 over K classes (the others score 0). */
export function majorityMacroF1(majorityShare: number, classes: number): number {
  return (2 * majorityShare) / (1 + majorityShare) / classes;
}

/** The gates lines and what they were measured against. */
export function proposeGates(baseline: LabelBaseline): { gates: Record<string, number>; why: string } {
  switch (baseline.task) {
    case 'binary':
      return {
        gates: { minAuc: 0.6 },
        why: `0.5 is a coin toss; ${short(baseline.positiveShare * 100)}% of rows are positive`,
      };
    case 'multiclass': {
      const f1 = majorityMacroF1(baseline.majorityShare, baseline.classes);
      const gate = Math.min(0.99, outward(f1 + 0.05, 'up'));
      return {
        gates: { minMacroF1: Number(gate.toFixed(3)) },
        why: `always answering ${baseline.majorityClass} (${short(baseline.majorityShare * 100)}% of rows) scores macro-F1 ${short(f1)} over ${baseline.classes} classes; the gate asks for 0.05 more`,
      };
    }
    case 'regression': {
      const gate = baseline.std > 0 ? outward(baseline.std, 'down') : 1;
      return {
        gates: { maxRmse: gate },
        why: `predicting the mean (${short(baseline.mean)}) scores RMSE ${short(baseline.std)}, the label's standard deviation; a model must do better`,
      };
    }
  }
}

/** The model spec as data: what model.yaml parses to before loadModelSpec reads the two paths. */
export function modelSpecOf(input: ModelProposalInput) {
  const small = input.rows < SMALL_TABLE_ROWS;
  return {
    name: input.name,
    description: `${input.task} model of ${input.label} (proposed by flywheel init)`,
    task: input.task,
    data: {
      dataset: input.dataset,
      label: input.label,
      ...(input.time ? { time: input.time, partition: { by: 'month' as const } } : {}),
      source: input.source,
      validation: './validation.yaml',
    },
    features: './features.yaml',
    trainer: {
      kind: 'tfjs-mlp' as const,
      hyperparameters: { hidden: [32, 16], epochs: 20, patience: 3, batchSize: small ? 64 : 512, learningRate: 0.005, seed: 7 },
      resources: { gpu: false },
    },
    gates: proposeGates(input.baseline).gates,
    retrain: { onNewData: true, onDrift: true, cooldown: '0s' },
    approval: { mode: 'automatic' as const },
    monitor: { enabled: true },
  };
}

export function renderModel(input: ModelProposalInput, header: string): string {
  const spec = modelSpecOf(input);
  const { why: gatesWhy } = proposeGates(input.baseline);
  const hp = spec.trainer.hyperparameters;
  const small = input.rows < SMALL_TABLE_ROWS;
  const lines = [
    ...comment(header),
    `name: ${flow(spec.name)}`,
    `description: ${flow(spec.description)}`,
    ...comment(input.taskReason),
    `task: ${spec.task}`,
    'data:',
    noted(`  dataset: ${flow(spec.data.dataset)}`, `data-arrival events of this dataset feed the model`),
    `  label: ${flow(input.label)}`,
    ...(input.time
      ? [
          noted(`  time: ${flow(input.time)}`, "time-ordered splits; calendar parts in the monitor's profiles"),
          noted('  partition: { by: month }', `\`flywheel data arrive ${input.firstPartition ?? 'YYYY-MM'} --spec …\` publishes one month`),
        ]
      : ['  # no time column: random splits and no partitions (add data.time and data.partition by hand)']),
    noted('  source:', 'where `flywheel data arrive` cuts partitions from'),
    `    uri: ${flow(input.source.uri)}`,
    ...(input.source.format ? [`    format: ${input.source.format}`] : []),
    ...(input.source.csv ? [`    csv: ${flow(input.source.csv as Record<string, string>)}`] : []),
    noted('  validation: ./validation.yaml', 'checked on every partition before training'),
    noted('features: ./features.yaml', 'the feature spec (docs/features.md)'),
    'trainer:',
    '  kind: tfjs-mlp',
    noted('  hyperparameters:', 'a small network: minutes on a laptop; raise hidden/epochs once it runs'),
    `    hidden: ${flow(hp.hidden)}`,
    `    epochs: ${hp.epochs}`,
    noted(`    patience: ${hp.patience}`, `stop after 3 epochs without a better validation loss`),
    small ? noted(`    batchSize: ${hp.batchSize}`, 'a small table: more, smaller steps per epoch') : `    batchSize: ${hp.batchSize}`,
    `    learningRate: ${hp.learningRate}`,
    `    seed: ${hp.seed}`,
    '  resources:',
    noted('    gpu: false', 'true: train on the GPU queue (flywheel-gpu)'),
    'gates:',
    ...comment(gatesWhy, '  '),
    ...Object.entries(spec.gates).map(([k, v]) => `  ${k}: ${v}`),
    'retrain:',
    noted('  onNewData: true', 'each arriving partition starts a training cycle'),
    noted('  onDrift: true', 'so does drift the monitor confirms'),
    '  cooldown: 0s',
    'approval:',
    noted('  mode: automatic', 'the gates decide; `manual` waits for `flywheel pipeline approve`'),
    'monitor:',
    noted('  enabled: true', 'drift and SLO checks with the defaults (docs/model-spec.md)'),
  ];
  return `${lines.join('\n')}\n`;
}
