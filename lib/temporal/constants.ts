// Task queues and workflow-ID builders. IDs carry business meaning so the Web UI reads like the
// lifecycle. Safe to import from workflow code (no Node built-ins).

export const TASK_QUEUES = {
  /** All workflows plus heavy CPU activities: data preparation, CPU training, evaluation, batch chunks. */
  cpu: 'flywheel-cpu',
  /** Training and heavy scoring activities, one task per device. */
  gpu: 'flywheel-gpu',
  /**
   * Short control activities (rollout routing, analysis, rollback, promotion, approvals, drift
   * checks, Schedule sync), served by their own worker and slots in the CPU worker process, so a
   * batch job that fills flywheel-cpu's slots never delays a rollback.
   */
  control: 'flywheel-control',
} as const;

export type WorkerKind = keyof typeof TASK_QUEUES;

/** Activities of async inference jobs, run by the inference servers (they hold the models). */
export const SERVING_TASK_QUEUE = 'flywheel-serving';
export type TaskQueue = (typeof TASK_QUEUES)[WorkerKind];

export const WORKFLOW_IDS = {
  routingCheck: (runId: string) => `routing-check/${runId}`,
  /** e.g. `prepare/flights/2001-03` */
  prepareData: (dataset: string, label: string) => `prepare/${dataset}/${label}`,
  /** e.g. `train/flights-delay/v-0123456789abcdef` */
  trainModel: (model: string, datasetVersion: string) => `train/${model}/${datasetVersion}`,
  /** e.g. `batch/flights-delay/2001-h1` */
  batchPredict: (model: string, label: string) => `batch/${model}/${label}`,
  /** A batch feature table load, e.g. `features/flights-delay/2001-03` */
  batchFeatures: (table: string, label: string) => `features/${table}/${label}`,
  /** The entity workflow of one model, e.g. `model/flights-delay`. */
  modelLifecycle: (model: string) => `model/${model}`,
  /** One training cycle of a model, e.g. `cycle/flights-delay/3`. */
  modelCycle: (model: string, cycle: number) => `cycle/${model}/${cycle}`,
  /** The Temporal Schedule that retrains a model on its cron. */
  retrainSchedule: (model: string) => `schedule/${model}`,
  /** An async inference job: the job id clients see is this workflow id, `job-<uuid>`. */
  inferenceJob: (uuid: string) => `job-${uuid}`,
  /** The progressive canary of one approved version, e.g. `rollout/flights-delay/v3`. */
  rollout: (model: string, version: number) => `rollout/${model}/v${version}`,
  /** The long-running drift and SLO monitor of one served model, e.g. `monitor/flights-delay`. */
  driftMonitor: (model: string) => `monitor/${model}`,
  /** The GitOps reconciler of one environment, e.g. `gitops/prod` (in that environment's namespace). */
  gitopsReconciler: (env: string) => `gitops/${env}`,
} as const;
