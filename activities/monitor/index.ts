// Monitoring activities (CPU queue): one drift/SLO check of a served model (report to the
// artifact store, a small summary to the workflow), and starting a model's drift monitor
// `monitor/<name>` when it is not running yet. Both are idempotent.
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Database } from '../../lib/db/index.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { runDriftCheck } from '../../lib/monitor/check.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import {
  driftMonitorWorkflow,
  type CheckDriftInput,
  type DriftCheckSummary,
  type DriftMonitorInput,
} from '../../lib/contracts/drift-monitor.ts';

export interface MonitorActivityDeps {
  store: ArtifactStore;
  registry: ModelRegistry;
  logger: Logger;
  /** The prediction log lives here; without it a check fails permanently. */
  db?: Database;
  /** A workflow client, to start monitors (connected lazily). */
  client: () => Promise<Client>;
}

export interface EnsureDriftMonitorResult {
  workflowId: string;
  state: 'started' | 'running' | 'disabled';
}

export function createMonitorActivities(deps: MonitorActivityDeps) {
  return {
    async checkDrift(input: CheckDriftInput): Promise<DriftCheckSummary> {
      if (!deps.db)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: 'this worker has no database, so it cannot read the prediction log',
        });
      const summary = await runDriftCheck({ db: deps.db, store: deps.store, registry: deps.registry }, input);
      deps.logger.info(
        { model: input.model, checkId: input.checkId, status: summary.status, samples: summary.samples, reasons: summary.reasons },
        'drift check',
      );
      return summary;
    },

    /** Starts `monitor/<name>` unless it runs already (or the spec disables it). */
    async ensureDriftMonitor(input: { spec: Pick<ModelSpec, 'name' | 'data' | 'monitor'> }): Promise<EnsureDriftMonitorResult> {
      const { spec } = input;
      const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
      if (!spec.monitor.enabled) return { workflowId, state: 'disabled' };
      const client = await deps.client();
      const args: [DriftMonitorInput] = [
        {
          model: spec.name,
          dataset: spec.data.dataset,
          monitor: spec.monitor,
          lifecycleWorkflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
        },
      ];
      try {
        await client.workflow.start(driftMonitorWorkflow, {
          workflowId,
          taskQueue: TASK_QUEUES.cpu,
          args,
          typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
          staticSummary: `drift and SLO monitor of ${spec.name}, every ${spec.monitor.interval}`,
        });
        deps.logger.info({ model: spec.name, workflowId }, 'drift monitor started');
        return { workflowId, state: 'started' };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, state: 'running' };
        throw err;
      }
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
