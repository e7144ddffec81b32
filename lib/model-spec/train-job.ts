// The part of `trainModel`'s input that the model spec's `trainer` decides. Pure, so the cycle
// workflow calls it and a unit test pins what each trainer kind turns into.
import type { EvaluateCandidateInput } from '../contracts/model-cycle.ts';
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

/** The trained candidate, as any trainer kind reports it (the int8 build only from tfjs-mlp). */
export interface TrainedCandidate {
  runKey: string;
  modelUri: string;
  int8ModelUri?: string | undefined;
}

/**
 * `evaluateCandidate`'s input for a trained candidate: the spec's gates and row limit, and its
 * int8 build scored beside it and gated against it. The cycle workflow and `flywheel ci` build it
 * here so both evaluate alike. Specs from before variants have none: the defaults apply.
 */
export function evaluateJobOf(
  spec: Pick<ModelSpec, 'name' | 'gates' | 'trainer'> & { variants?: ModelSpec['variants'] },
  trained: TrainedCandidate,
  data: { featureSpecUri: string; testUri: string; validationUri: string },
): EvaluateCandidateInput {
  return {
    model: spec.name,
    runKey: trained.runKey,
    modelUri: trained.modelUri,
    ...data,
    gates: spec.gates as Record<string, unknown>,
    ...(spec.trainer.limitRows ? { limitRows: spec.trainer.limitRows } : {}),
    ...(trained.int8ModelUri
      ? { variants: { int8: { modelUri: trained.int8ModelUri, maxMetricDrop: spec.variants?.int8.maxMetricDrop ?? 0.01 } } }
      : {}),
  };
}
