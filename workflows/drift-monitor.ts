// driftMonitor (`monitor/<model>`): one long-running workflow per served model. Every `interval`
// (a durable timer) or on `checkNow` it runs one drift/SLO check, feeds the verdict through the
// hysteresis (lib/monitor/hysteresis.ts) and, on an alert, signals the model's lifecycle. It
// continues as new every `checksBeforeContinueAsNew` checks, carrying its state.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { decide, initialMonitorState } from '../lib/monitor/hysteresis.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import { WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import {
  checkNowSignal,
  driftMonitorStatusQuery,
  type DriftCheckSummary,
  type DriftMonitorInput,
  type DriftMonitorStatus,
  type MonitorState,
} from '../lib/contracts/drift-monitor.ts';
import { driftSignal } from '../lib/contracts/model-lifecycle.ts';

/** Default checks per run before continue-as-new (each check is about ten history events). */
export const DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW = 200;

const monitor = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

function details(model: string, state: MonitorState, note: string, nextCheckAt: number | null): string {
  const last = state.lastCheck;
  const lines = [
    `**monitor of ${model}**: ${state.armed ? 'armed' : 'alerted, waiting to re-arm'} · ${state.checks} checks · ${state.alerts} alerts`,
    last
      ? `last check ${last.checkId}: **${last.status}** (${last.samples} predictions)${last.reasons.length ? ` — ${last.reasons.join('; ')}` : ''}`
      : 'no check yet',
    `decision: ${note}`,
    ...(last?.htmlUri ? [`report: ${last.htmlUri}`] : []),
    ...(nextCheckAt !== null ? [`next check: ${new Date(nextCheckAt).toISOString()}`] : []),
  ];
  return lines.join('\n\n');
}

export async function driftMonitor(input: DriftMonitorInput): Promise<void> {
  const { model } = input;
  const spec = input.monitor;
  if (!spec.enabled) return;
  const lifecycleId = input.lifecycleWorkflowId ?? WORKFLOW_IDS.modelLifecycle(model);
  const state: MonitorState = input.state ?? initialMonitorState(workflowInfo().firstExecutionRunId.slice(0, 8));
  const intervalMs = durationMs(spec.interval);
  const hysteresis = { breachesToAlert: spec.breachesToAlert, clearsToRearm: spec.clearsToRearm, cooldownMs: durationMs(spec.cooldown) };
  // A request that arrived while the previous run was ending is answered first.
  let requested = input.checkPending ? 1 : 0;
  let phase: DriftMonitorStatus['phase'] = 'waiting';
  let nextCheckAt: number | null = null;

  setHandler(checkNowSignal, () => void requested++);
  setHandler(driftMonitorStatusQuery, () => ({
    model,
    state,
    phase,
    nextCheckAt: nextCheckAt === null ? null : new Date(nextCheckAt).toISOString(),
  }));

  let note = 'waiting for the first check';
  const checksPerRun = Math.max(1, input.checksBeforeContinueAsNew ?? DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW);
  for (let run = 0; run < checksPerRun && !workflowInfo().continueAsNewSuggested; run++) {
    if (requested === 0) {
      nextCheckAt = Date.now() + intervalMs;
      setCurrentDetails(details(model, state, note, nextCheckAt));
      await condition(() => requested > 0, intervalMs);
    }
    requested = 0; // requests that arrived while waiting are answered by this one check
    nextCheckAt = null;
    phase = 'checking';
    const n = state.checks + 1;
    let summary: DriftCheckSummary | null = null;
    try {
      summary = await monitor.checkDrift({
        model,
        ...(input.dataset ? { dataset: input.dataset } : {}),
        checkId: `${compactTime(Date.now())}-${n}`,
        monitor: spec,
      });
    } catch (err) {
      // A check that keeps failing (database down) judges nothing; the monitor itself lives on.
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('drift check failed', { model, check: n, error: err.cause?.message ?? err.message });
    }
    const verdict =
      summary === null || (summary.status !== 'ok' && summary.status !== 'breach') ? 'unknown' : summary.breach ? 'breach' : 'clear';
    const decision = decide(state, { verdict, championVersion: summary?.championVersion ?? null }, Date.now(), hysteresis);
    Object.assign(state, decision.state, { checks: n }, summary ? { lastCheck: summary } : {});
    note = decision.note;
    if (decision.alert && summary) {
      const signal = {
        eventId: `drift/${model}/${state.epoch}/${n}`,
        summary: `${model} v${summary.championVersion}: ${summary.reasons.join('; ')}`,
        ...(summary.reportUri ? { reportUri: summary.reportUri } : {}),
      };
      try {
        await getExternalWorkflowHandle(lifecycleId).signal(driftSignal, signal);
        log.info('drift alert sent', { model, eventId: signal.eventId, lifecycleId });
      } catch (err) {
        // No lifecycle to tell (stopped by hand): the alert is recorded here and in the report.
        log.warn('drift alert not delivered', { model, lifecycleId, error: err instanceof Error ? err.message : String(err) });
      }
    }
    phase = 'waiting';
    setCurrentDetails(details(model, state, note, null));
  }
  await condition(allHandlersFinished);
  // Everything the next run needs: the counters, and a checkNow that came in after the last check.
  const next: DriftMonitorInput = { ...input, state };
  delete next.checkPending;
  if (requested > 0) next.checkPending = true;
  await continueAsNew<typeof driftMonitor>(next);
}
