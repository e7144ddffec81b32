// The part of `trainModel`'s input that the model spec's `trainer` decides. Pure, so the cycle
// workflow calls it and a unit test pins what each trainer kind turns into.
import type { EvaluateCandidateInput, TrainingRunInput } from '../contracts/model-cycle.ts';
import type { ExternalModelResult, TrainActivityResult, TrainModelInput } from '../contracts/train-model.ts';
import { epochsOfHistory } from '../tracking/epochs.ts';
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

/** A whole training result, as `trainModel` (with `preemptions`) or `flywheel ci` returns it. */
export type TrainResult = (TrainActivityResult | ExternalModelResult) & { preemptions?: number };

function finiteOnly(values: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, number] => Number.isFinite(e[1])));
}

/** The experiment-tracking view of a training result: what evaluateCandidate records as the run. */
export function trainingRunOf(trained: TrainResult): TrainingRunInput {
  const { lineage } = trained;
  const artifacts: Record<string, string> = {
    model: trained.modelUri,
    featureSpec: lineage.featureSpecUri,
    trainData: lineage.trainUri,
    validationData: lineage.validationUri,
  };
  const common = {
    datasetVersion: lineage.datasetVersion,
    ...(trained.system ? { system: trained.system } : {}),
    ...(trained.startedAt ? { startedAt: trained.startedAt } : {}),
  };
  if (!('history' in trained)) {
    const { lineage } = trained;
    return {
      ...common,
      trainer: trained.trainer,
      params: {
        ...lineage.hyperparameters,
        ...(lineage.command ? { command: lineage.command } : {}),
        ...(lineage.sourceUri ? { sourceUri: lineage.sourceUri, sourceSha256: lineage.sourceSha256 } : {}),
      },
      epochs: trained.epochs ?? [],
      artifacts: { ...artifacts, ...(trained.lastCheckpointUri ? { checkpoint: trained.lastCheckpointUri } : {}) },
      trainingMetrics: finiteOnly({ ...trained.metrics, preemptions: trained.preemptions }),
    };
  }
  return {
    ...common,
    trainer: 'tfjs-mlp',
    params: lineage.hyperparameters,
    epochs: epochsOfHistory(trained.history),
    artifacts: { ...artifacts, int8Model: trained.int8ModelUri, weights: trained.weightsUri },
    trainingMetrics: finiteOnly({
      bestValLoss: trained.bestValLoss,
      epochsRun: trained.epochsRun,
      globalStep: trained.globalStep,
      stoppedEarly: trained.stoppedEarly ? 1 : 0,
      parityMaxAbsDiff: trained.parity.maxAbsDiff,
      int8ParityMaxAbsDiff: trained.parity.int8MaxAbsDiff,
      preemptions: trained.preemptions,
    }),
  };
}

/** What the data preparation produced for the run's dataset: recorded with the run, so the
 * lineage reads dataset → validation report → training run → version. */
export interface DatasetLineage {
  manifestUri?: string;
  validationReportUri?: string;
  profileUri?: string;
}

function datasetArtifacts(d: DatasetLineage): Record<string, string> {
  return {
    ...(d.manifestUri ? { datasetManifest: d.manifestUri } : {}),
    ...(d.validationReportUri ? { validationReport: d.validationReportUri } : {}),
    ...(d.profileUri ? { datasetProfile: d.profileUri } : {}),
  };
}

/**
 * `evaluateCandidate`'s input for a trained candidate: the spec's gates and row limit, and its
 * int8 build scored beside it and gated against it. The cycle workflow and `flywheel ci` build it
 * here so both evaluate alike. Specs from before variants have none: the defaults apply. The
 * training run's record (`run`) rides along: evaluation writes it, where the database is; with
 * `dataset`, the run's artifacts name the dataset's manifest, validation report and profile.
 */
export function evaluateJobOf(
  spec: Pick<ModelSpec, 'name' | 'gates' | 'trainer'> & { variants?: ModelSpec['variants'] },
  trained: TrainedCandidate | TrainResult,
  data: { featureSpecUri: string; testUri: string; validationUri: string },
  dataset?: DatasetLineage,
): EvaluateCandidateInput {
  const run = 'lineage' in trained ? trainingRunOf(trained) : undefined;
  if (run && dataset) run.artifacts = { ...run.artifacts, ...datasetArtifacts(dataset) };
  return {
    model: spec.name,
    runKey: trained.runKey,
    modelUri: trained.modelUri,
    ...data,
    gates: spec.gates as Record<string, unknown>,
    ...(spec.trainer.limitRows ? { limitRows: spec.trainer.limitRows } : {}),
    ...('int8ModelUri' in trained && trained.int8ModelUri
      ? { variants: { int8: { modelUri: trained.int8ModelUri, maxMetricDrop: spec.variants?.int8.maxMetricDrop ?? 0.01 } } }
      : {}),
    // A whole training result (not the bare candidate a test builds) is recorded as a tracked run.
    ...(run ? { run } : {}),
  };
}
