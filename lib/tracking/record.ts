// The tracked run as evaluation records it: the training side (from the evaluation input's `run`)
// joined with the evaluation's verdict, metrics and files.
import type { TrainingRunInput } from '../contracts/model-cycle.ts';
import type { NewTrainingRun } from './store.ts';
import type { RunStatus } from './types.ts';

export interface EvaluationOutcome {
  status: RunStatus;
  summary: string;
  /** The candidate's test-set metrics (summarizeMetrics). */
  metrics: Record<string, number>;
  /** The int8 variant's test-set metrics, recorded as `int8.<name>`. */
  int8Metrics?: Record<string, number>;
  gateReportUri: string;
  reportUri: string;
  metricsUri: string;
}

export function trackedRunOf(input: { model: string; runKey: string; run: TrainingRunInput }, outcome: EvaluationOutcome): NewTrainingRun {
  const { run } = input;
  const prefixed = (prefix: string, m: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(m)
        .filter(([, v]) => Number.isFinite(v))
        .map(([k, v]) => [`${prefix}.${k}`, v]),
    );
  return {
    runId: input.runKey,
    model: input.model,
    datasetVersion: run.datasetVersion,
    trainer: run.trainer,
    status: outcome.status,
    params: run.params,
    metrics: {
      ...Object.fromEntries(Object.entries(outcome.metrics).filter(([, v]) => Number.isFinite(v))),
      ...prefixed('train', run.trainingMetrics),
      ...(outcome.int8Metrics ? prefixed('int8', outcome.int8Metrics) : {}),
    },
    epochs: run.epochs,
    system: run.system ?? null,
    artifacts: {
      ...run.artifacts,
      gateReport: outcome.gateReportUri,
      report: outcome.reportUri,
      metrics: outcome.metricsUri,
    },
    summary: outcome.summary,
    startedAt: run.startedAt ?? null,
  };
}
