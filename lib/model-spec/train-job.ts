// The part of `trainModel`'s input that the model spec's `trainer` decides. Pure, so the cycle
// workflow calls it and a unit test pins what each trainer kind turns into.
import type { TrainModelInput } from '../contracts/train-model.ts';
import { durationMs } from './duration.ts';
import type { ModelSpec } from './model-spec.ts';

export type TrainJob = Pick<TrainModelInput, 'hyperparameters' | 'resources' | 'preemption' | 'trainer' | 'limitRows'>;

export function trainJobOf(spec: Pick<ModelSpec, 'trainer'>): TrainJob {
  const t = spec.trainer;
  const common = {
    resources: t.resources,
    ...('preemption' in t && t.preemption ? { preemption: t.preemption } : {}),
    ...(t.limitRows ? { limitRows: t.limitRows } : {}),
  };
  switch (t.kind) {
    case 'command':
      return {
        ...common,
        trainer: {
          kind: 'command',
          command: t.command,
          ...(t.workingDir ? { workingDir: t.workingDir } : {}),
          hyperparameters: t.hyperparameters,
          env: t.env,
          killGraceMs: durationMs(t.killGrace),
        },
      };
    case 'onnx':
      return { ...common, trainer: { kind: 'onnx', modelUri: t.model } };
    default:
      // tfjs-mlp — and a spec that reached a workflow unparsed, without `kind` (from the `temporal`
      // CLI, say), as it always meant. No `trainer` key: the same input as before trainer kinds.
      return { hyperparameters: t.hyperparameters, ...common };
  }
}
