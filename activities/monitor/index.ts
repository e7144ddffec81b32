// Monitoring activities (CPU queue): one drift/SLO check of a served model (report to the
// artifact store, a small summary to the workflow), and starting a model's drift monitor
// `monitor/<name>` when it is not running yet, or handing a running one the spec's settings (so a
// changed spec reaches it; `enabled: false` ends it). Both are idempotent. Each check is kept in
// `monitor_checks` (lib/tracking) so it can be charted over time.
import type { Client } from '@temporalio/client';
import type { Database } from '../../lib/db/index.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { runDriftCheck } from '../../lib/monitor/check.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { recordCheck } from '../../lib/tracking/store.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import type { CheckDriftInput, DriftCheckSummary } from '../../lib/contracts/drift-monitor.ts';
import { convergeDriftMonitor, type MonitorSpecOf } from './converge.ts';

export interface MonitorActivityDeps {
  store: ArtifactStore;
  registry: ModelRegistry;
  logger: Logger;
  /** The prediction log lives here; without it a check fails permanently. */
  db?: Database;
  /** A workflow client, to start monitors (connected lazily). */
  client: () => Promise<Client>;
  /** Told what each check found (the worker's flywheel_monitor_drift_checks_total). */
  driftCheckWatch?: DriftCheckWatch;
}

/** A check's verdict as the monitor reads it: breach or clear when judged (status ok or breach),
 * unknown otherwise (too few samples, no champion, no reference). */
export type DriftCheckResult = 'breach' | 'clear' | 'unknown';
export type DriftCheckWatch = (model: string, result: DriftCheckResult) => void;

export function driftCheckResult(summary: DriftCheckSummary): DriftCheckResult {
  if (summary.status !== 'ok' && summary.status !== 'breach') return 'unknown';
  return summary.breach ? 'breach' : 'clear';
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
      deps.driftCheckWatch?.(input.model, driftCheckResult(summary));
      // Kept over time (monitor_checks) for the console's charts; idempotent per checkId, so a
      // retried check replaces its own row.
      await recordCheck(deps.db, input.model, summary);
      return summary;
    },

    /** Starts `monitor/<name>` unless it runs already; a running one is sent the spec's settings
     * (`updateMonitorSettings`: it applies them from its next check, and ignores settings it
     * already has). With `monitor.enabled: false` a running monitor is told to end. */
    async ensureDriftMonitor(input: { spec: MonitorSpecOf }): Promise<EnsureDriftMonitorResult> {
      const { spec } = input;
      const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
      const outcome = await convergeDriftMonitor(await deps.client(), spec, { start: true });
      if (!spec.monitor.enabled) {
        if (outcome === 'signalled') deps.logger.info({ model: spec.name, workflowId }, 'drift monitor told to end: monitoring disabled');
        return { workflowId, state: 'disabled' };
      }
      if (outcome === 'started') deps.logger.info({ model: spec.name, workflowId }, 'drift monitor started');
      return { workflowId, state: outcome === 'started' ? 'started' : 'running' };
    },
  };
}

export type MonitorActivities = ReturnType<typeof createMonitorActivities>;
