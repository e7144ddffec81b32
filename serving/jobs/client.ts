// Async jobs from the server's side: start one `inferenceJob` workflow per job and read its
// state back. The job id is the workflow id, so any replica can answer for any job.
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { innermostError } from '../../lib/errors.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ServingError } from '../errors.ts';
import {
  inferenceJobWorkflow,
  type InferenceJobInput,
  type InferenceJobResult,
  type InferenceJobWorkflow,
} from '../../lib/contracts/inference-job.ts';

export type JobStatus =
  | { jobId: string; status: 'running'; startedAt: string }
  | { jobId: string; status: 'completed'; startedAt: string; result: InferenceJobResult }
  | { jobId: string; status: 'failed'; startedAt: string; error: string };

const JOB_ID = /^job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function createJobsClient(client: Client) {
  return {
    async start(input: InferenceJobInput): Promise<string> {
      const jobId = WORKFLOW_IDS.inferenceJob(randomUUID());
      try {
        await client.workflow.start(inferenceJobWorkflow, {
          taskQueue: TASK_QUEUES.cpu,
          workflowId: jobId,
          args: [input],
          staticSummary: `${input.instances.length} instance(s) for ${input.model}`,
        });
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
          return { jobId, status: 'completed', startedAt, result: await handle.result() };
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
