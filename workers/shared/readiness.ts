// Whether a worker process serves its task queues: every Temporal worker RUNNING with its pollers
// alive, and the Temporal frontend answering its health check. Before the workers exist the
// process is "starting"; after a shutdown signal it is "draining" (finishing in-flight activities,
// taking no new ones), so a probe takes it out of rotation before it exits.
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Readiness } from './health-server.ts';

export interface NamedWorker {
  /** The task queue it polls, used in the reasons. */
  name: string;
  worker: Pick<Worker, 'getState' | 'getStatus'>;
}

export interface ReadinessOptions {
  /** How long one frontend health check may take. @default 2000 */
  checkTimeoutMs?: number;
  /** How long a check's answer is reused, so probes and scrapes stay cheap. @default 2000 */
  cacheMs?: number;
  /** @default Date.now */
  now?: () => number;
}

type Phase = 'starting' | 'running' | 'draining' | 'stopped';

export function createWorkerReadiness(options: ReadinessOptions = {}) {
  const { checkTimeoutMs = 2000, cacheMs = 2000, now = Date.now } = options;
  let phase: Phase = 'starting';
  let workers: readonly NamedWorker[] = [];
  let connection: Pick<NativeConnection, 'healthService' | 'withDeadline'> | undefined;
  let lastCheck: { at: number; result: Promise<string | undefined> } | undefined;

  /** Undefined when the frontend says SERVING; else why not. */
  async function checkConnection(): Promise<string | undefined> {
    if (!connection) return 'no Temporal connection yet';
    const c = connection;
    try {
      const response = await c.withDeadline(now() + checkTimeoutMs, () => c.healthService.check({}));
      // 1 = SERVING in grpc.health.v1.HealthCheckResponse.ServingStatus.
      return response.status === 1 ? undefined : `Temporal frontend health is ${String(response.status)}`;
    } catch (err) {
      return `Temporal frontend unreachable: ${(err as Error).message}`;
    }
  }

  function connectionReason(): Promise<string | undefined> {
    if (!lastCheck || now() - lastCheck.at >= cacheMs) lastCheck = { at: now(), result: checkConnection() };
    return lastCheck.result;
  }

  return {
    /** The workers are built and about to run. */
    running(conn: Pick<NativeConnection, 'healthService' | 'withDeadline'>, named: readonly NamedWorker[]): void {
      connection = conn;
      workers = named;
      if (phase === 'starting') phase = 'running';
    },
    /** A shutdown began (a signal, or one worker stopped and takes the others down). */
    draining(): void {
      if (phase !== 'stopped') phase = 'draining';
    },
    stopped(): void {
      phase = 'stopped';
    },
    async check(): Promise<Readiness> {
      if (phase !== 'running') return { ready: false, reasons: [phase] };
      const reasons: string[] = [];
      for (const { name, worker } of workers) {
        const state = worker.getState();
        if (state !== 'RUNNING') {
          reasons.push(`${name} worker is ${state}`);
          continue;
        }
        const status = worker.getStatus();
        if (status.workflowPollerState === 'FAILED') reasons.push(`${name} workflow poller FAILED`);
        if (status.activityPollerState === 'FAILED') reasons.push(`${name} activity poller FAILED`);
      }
      // A worker that stops on its own (not from a signal) takes the process down: say draining.
      if (workers.some(({ worker }) => ['STOPPING', 'DRAINING', 'DRAINED'].includes(worker.getState()))) reasons.unshift('draining');
      const conn = await connectionReason();
      if (conn) reasons.push(conn);
      return { ready: reasons.length === 0, reasons };
    },
  };
}

export type WorkerReadiness = ReturnType<typeof createWorkerReadiness>;
