// Monitoring activities (CPU queue): one drift/SLO check of a served model (report to the
// artifact store, a small summary to the workflow), and starting a model's drift monitor
// `monitor/<name>` when it is not running yet, or handing a running one the spec's settings (so a
// changed spec reaches it; `enabled: false` ends it). Both are idempotent.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
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
  updateMonitorSettingsSignal,
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

    /** Starts `monitor/<name>` unless it runs already; a running one is sent the spec's settings
     * (`updateMonitorSettings`: it applies them from its next check, and ignores settings it
     * already has). With `monitor.enabled: false` a running monitor is told to end. */
    async ensureDriftMonitor(input: { spec: Pick<ModelSpec, 'name' | 'data' | 'monitor'> }): Promise<EnsureDriftMonitorResult> {
      const { spec } = input;
      const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
      const client = await deps.client();
      const sendSettings = () => client.workflow.getHandle(workflowId).signal(updateMonitorSettingsSignal, { monitor: spec.monitor });
      if (!spec.monitor.enabled) {
        try {
          await sendSettings();
          deps.logger.info({ model: spec.name, workflowId }, 'drift monitor told to end: monitoring disabled');
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
        }
        return { workflowId, state: 'disabled' };
      }
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
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        await sendSettings();
        return { workflowId, state: 'running' };
      }
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
