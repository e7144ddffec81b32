// Builds a Flywheel worker for one task queue. The CPU worker also runs every workflow; the GPU
// worker runs activities only, one at a time by default (one training task per device); the
// control worker runs the short control activities only, on slots no heavy activity can take.
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { NativeConnection, Worker, WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES, type WorkerKind } from '../../lib/temporal/constants.ts';
import { createWorker } from '../../lib/temporal/worker.ts';

// Compiled to dist/ (scripts/build.ts), this module is .js and so are the workflows beside it.
export const WORKFLOWS_PATH = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../workflows/index.ts' : '../../workflows/index.js', import.meta.url),
);

export interface CreateFlywheelWorkerOptions {
  kind: WorkerKind;
  connection: NativeConnection;
  namespace: string;
  activities: object;
  /** @default `${taskQueue}@${hostname}:${pid}` */
  identity?: string;
  /** @default 4 for cpu, 1 for gpu, 8 for control */
  maxConcurrentActivities?: number;
  /** How long in-flight activities get to finish after shutdown starts. @default 10000 */
  shutdownGraceMs?: number;
  /** The queue to poll instead of the kind's own (GPU workers only: an on-demand pool). */
  taskQueue?: string;
  /** A prebuilt bundle (tests, `flywheel dev`) instead of bundling workflows/index.ts again. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** The Worker Deployment Version this worker belongs to (lib/temporal/versioning). Every worker
   * of one process must get the same one, so a pinned workflow's control activities reach it.
   * @default none: unversioned */
  workerDeploymentOptions?: WorkerOptions['workerDeploymentOptions'];
  /**
   * Workflows kept in memory between tasks (CPU workers). Unset: the SDK's default, sized from the
   * heap limit (~2,300 on a 4 GB heap). Each costs ~1.8 MB (bench:scale: 1,000 models with their
   * monitors took one worker to 4.1 GB); a smaller cache trades memory for replays, as an evicted
   * lifecycle or monitor replays its history (bounded by continue-as-new) when it wakes.
   */
  maxCachedWorkflows?: number;
  /** Interceptors after Flywheel's failure mapping (the worker's activity metrics). @default none */
  interceptors?: WorkerOptions['interceptors'];
}

const DEFAULT_ACTIVITY_SLOTS: Record<WorkerKind, number> = { cpu: 4, gpu: 1, control: 8 };

export function defaultIdentity(kind: WorkerKind, taskQueue?: string): string {
  return `${taskQueue ?? TASK_QUEUES[kind]}@${hostname()}:${process.pid}`;
}

export async function createFlywheelWorker(options: CreateFlywheelWorkerOptions): Promise<Worker> {
  const { kind } = options;
  // The CPU worker runs every workflow, which are started on its queue; only activity-only
  // workers may poll another.
  if (options.taskQueue && kind !== 'gpu')
    throw new Error(`only a GPU worker can poll another task queue (got ${options.taskQueue} for ${kind})`);
  const workflows =
    kind === 'cpu' ? (options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }) : {};
  return createWorker({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue ?? TASK_QUEUES[kind],
    identity: options.identity ?? defaultIdentity(kind, options.taskQueue),
    activities: options.activities,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? DEFAULT_ACTIVITY_SLOTS[kind],
    shutdownGraceTime: options.shutdownGraceMs ?? 10_000,
    ...(options.interceptors ? { interceptors: options.interceptors } : {}),
    ...(options.workerDeploymentOptions ? { workerDeploymentOptions: options.workerDeploymentOptions } : {}),
    ...(kind === 'cpu' && options.maxCachedWorkflows ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    ...workflows,
  });
}
