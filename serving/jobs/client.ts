// Async jobs from the server's side: start one `inferenceJob` workflow per job and read its
// state back. The job id is the workflow id, so any replica can answer for any job. The
// instances go to the artifact store first and the workflow gets their key; a completed job's
// predictions are read back from there (or from its result, for jobs that completed inline).
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { innermostError } from '../../lib/errors.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { annotateActiveSpan } from '../../lib/telemetry/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ServingError } from '../errors.ts';
import { inlineJobResult, storeJobInstances } from './payloads.ts';
import {
  inferenceJobWorkflow,
  type InferenceJobRequest,
  type InferenceJobResult,
  type InferenceJobWorkflow,
} from '../../lib/contracts/inference-job.ts';

export type JobStatus =
  | { jobId: string; status: 'running'; startedAt: string }
  | { jobId: string; status: 'completed'; startedAt: string; result: InferenceJobResult }
  | { jobId: string; status: 'failed'; startedAt: string; error: string };

const JOB_ID = /^job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createJobsClient(client: Client, store: ArtifactStore) {
  async function completedResult(outcome: Awaited<ReturnType<InferenceJobWorkflow>>): Promise<InferenceJobResult> {
    try {
      return await inlineJobResult(store, outcome);
    } catch (err) {
      throw new ServingError(
        'unavailable',
        `could not read the job's predictions (artifact store: ${innermostError(err as Error).message})`,
        5,
      );
    }
  }

  return {
    async start(request: InferenceJobRequest): Promise<string> {
      const jobId = WORKFLOW_IDS.inferenceJob(randomUUID());
      const { instances, ...rest } = request;
      let instancesRef;
      try {
        instancesRef = await storeJobInstances(store, jobId, instances);
      } catch (err) {
        throw new ServingError('unavailable', `could not queue the job (artifact store: ${(err as Error).message})`, 5);
      }
      try {
        await client.workflow.start(inferenceJobWorkflow, {
          taskQueue: TASK_QUEUES.cpu,
          workflowId: jobId,
          args: [{ ...rest, instancesRef }],
          staticSummary: `${instances.length} instance(s) for ${request.model}`,
        });
        // Tracing on: the start above ran in the request's span, so the client interceptor put
        // that trace into the workflow's headers; the job's id on the span links the two ways.
        annotateActiveSpan({ 'flywheel.job.id': jobId });
      } catch (err) {
        throw new ServingError('unavailable', `could not queue the job (workflow service: ${(err as Error).message})`, 5);
      }
      return jobId;
    },

    async get(jobId: string): Promise<JobStatus> {
      if (!JOB_ID.test(jobId)) throw new ServingError('notFound', `no job ${JSON.stringify(jobId)} (job ids look like job-<uuid>)`);
      const handle = client.workflow.getHandle<InferenceJobWorkflow>(jobId);
      let description;
      try {
        description = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new ServingError('notFound', `no job ${jobId}`);
        throw new ServingError('unavailable', `could not read the job (workflow service: ${(err as Error).message})`, 5);
      }
      if (description.type !== inferenceJobWorkflow.workflowType) throw new ServingError('notFound', `no job ${jobId}`);
      const startedAt = description.startTime.toISOString();
      switch (description.status.name) {
        case 'RUNNING':
          return { jobId, status: 'running', startedAt };
        case 'COMPLETED':
          return { jobId, status: 'completed', startedAt, result: await completedResult(await handle.result()) };
        default:
          try {
            await handle.result();
            return { jobId, status: 'failed', startedAt, error: description.status.name };
          } catch (err) {
            return { jobId, status: 'failed', startedAt, error: err instanceof Error ? innermostError(err).message : String(err) };
          }
      }
    },
  };
}

export type JobsClient = ReturnType<typeof createJobsClient>;
