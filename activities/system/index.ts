// Activities about the worker itself. `probeWorker` proves task-queue routing end to end: it
// reports which worker (kind, queue, identity, process) actually executed it.
import { hostname } from 'node:os';
import { Context } from '@temporalio/activity';
import type { WorkerProbe } from '../../lib/contracts/routing-check.ts';

export interface SystemActivityDeps {
  workerKind: 'cpu' | 'gpu';
  identity: string;
}

export function createSystemActivities(deps: SystemActivityDeps) {
  return {
    async probeWorker(): Promise<WorkerProbe> {
      const info = Context.current().info;
      return {
        workerKind: deps.workerKind,
        taskQueue: info.taskQueue,
        identity: deps.identity,
        hostname: hostname(),
        pid: process.pid,
        attempt: info.attempt,
      };
    },
  };
}

export type SystemActivities = ReturnType<typeof createSystemActivities>;
