// driftMonitor (`monitor/<model>`): one long-running workflow per served model. Every `interval`
// (a durable timer) or on `checkNow` it runs one drift/SLO check, feeds the verdict through the
// hysteresis (lib/monitor/hysteresis.ts) and, on an alert, signals the model's lifecycle. It
// continues as new every `checksBeforeContinueAsNew` checks, carrying its state and settings.
// `updateMonitorSettings` swaps the settings from the next check (`enabled: false` ends it);
// every signal payload is validated, and a refused one is recorded in the status, not thrown.
import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { MonitorActivities } from '../activities/monitor/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { decide, initialMonitorState, type HysteresisOptions } from '../lib/monitor/hysteresis.ts';
import { parseCheckNow, parseMonitorSettings, recordRefused } from '../lib/monitor/payloads.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import {
  checkNowSignal,
  driftMonitorStatusQuery,
  updateMonitorSettingsSignal,
  type DriftCheckSummary,
  type DriftMonitorInput,
  type DriftMonitorStatus,
  type MonitorReason,
  type MonitorSpec,
  type MonitorState,
  type RefusedPayload,
} from '../lib/contracts/drift-monitor.ts';
import { driftSignal } from '../lib/contracts/model-lifecycle.ts';

/** Default checks per run before continue-as-new (each check is about ten history events). */
export const DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW = 200;

// Checks are control work: their own slots, so a batch job filling flywheel-cpu cannot delay them.
const monitor = proxyActivities<MonitorActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

function compactTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Why the monitor is not alerting, as the status Query and the Web UI show it. */
export function notAlertingBecause(state: MonitorState): MonitorReason | null {
  if (state.notAlertingBecause !== undefined) return state.notAlertingBecause;
  if (state.checks === 0) return { code: 'no-check-yet', message: 'no check yet' };
  // State carried from a monitor that ran before reasons were recorded: what the counters say.
  if (!state.armed)
    return {
      code: 'disarmed',
      message: `disarmed since the alert at ${state.lastAlertAt ?? '?'}`,
      ...(state.lastAlertAt ? { since: state.lastAlertAt } : {}),
    };
  return { code: 'no-check-yet', message: 'no check since the monitor was upgraded' };
}

function details(model: string, state: MonitorState, note: string, nextCheckAt: number | null): string {
  const last = state.lastCheck;
  const reason = notAlertingBecause(state);
  const lines = [
    `**monitor of ${model}**: ${state.armed ? 'armed' : 'alerted, waiting to re-arm'} · ${state.checks} checks · ${state.alerts} alerts`,
    `not alerting because: ${reason ? reason.message : 'the last check alerted'}`,
    last
      ? `last check ${last.checkId}: **${last.status}** (${last.samples} predictions)${last.reasons.length ? ` — ${last.reasons.join('; ')}` : ''}`
      : 'no check yet',
    `decision: ${note}`,
    ...(last?.htmlUri ? [`report: ${last.htmlUri}`] : []),
    ...(nextCheckAt !== null ? [`next check: ${new Date(nextCheckAt).toISOString()}`] : []),
  ];
  return lines.join('\n\n');
}

function hysteresisOf(spec: MonitorSpec): HysteresisOptions {
  return {
    breachesToAlert: spec.breachesToAlert,
    clearsToRearm: spec.clearsToRearm,
    cooldownMs: durationMs(spec.cooldown),
    // Histories recorded before re-alerting on persistent drift replay without the new alert.
    mayRealert: () => patched('drift-monitor-realert-while-drifting'),
  };
}

export async function driftMonitor(input: DriftMonitorInput): Promise<void> {
  const { model } = input;
  let spec = input.monitor;
  if (!spec.enabled) return;
  const lifecycleId = input.lifecycleWorkflowId ?? WORKFLOW_IDS.modelLifecycle(model);
  const state: MonitorState = input.state ?? initialMonitorState(workflowInfo().firstExecutionRunId.slice(0, 8));
  // A request that arrived while the previous run was ending is answered first.
  let requested = input.checkPending ? 1 : 0;
  let phase: DriftMonitorStatus['phase'] = 'waiting';
  let nextCheckAt: number | null = null;
  let settingsVersion = 0;
  let refused: RefusedPayload[] = input.refused ?? [];
  let refusedTotal = input.refusedTotal ?? refused.length;

  const refuse = (handler: string, reason: string) => {
    refused = recordRefused(refused, { handler, at: new Date(Date.now()).toISOString(), reason });
    refusedTotal++;
    log.warn('signal payload refused', { model, handler, reason });
  };
  setHandler(checkNowSignal, (payload?: unknown) => {
    const parsed = parseCheckNow(payload);
    if (!parsed.ok) return refuse('checkNow', parsed.error);
    requested++;
  });
  setHandler(updateMonitorSettingsSignal, (payload: unknown) => {
    const parsed = parseMonitorSettings(payload);
    if (!parsed.ok) return refuse('updateMonitorSettings', parsed.error);
    // ensureDriftMonitor re-sends the spec's settings after every promotion: the same ones change nothing.
    if (JSON.stringify(parsed.value.monitor) === JSON.stringify(spec)) return;
    spec = parsed.value.monitor;
    settingsVersion++;
    log.info('monitor settings updated', { model, enabled: spec.enabled, interval: spec.interval });
  });
  setHandler(driftMonitorStatusQuery, () => ({
    model,
    state,
    phase,
    nextCheckAt: nextCheckAt === null ? null : new Date(nextCheckAt).toISOString(),
    notAlertingBecause: notAlertingBecause(state),
    monitor: spec,
    refused,
    refusedTotal,
  }));

  let note = 'waiting for the first check';
  const checksPerRun = Math.max(1, input.checksBeforeContinueAsNew ?? DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW);
  for (let run = 0; run < checksPerRun && spec.enabled && !workflowInfo().continueAsNewSuggested; run++) {
    if (requested === 0) {
      // One timer per wait, as before; new settings wake the wait and re-time it from its start.
      const waitStart = Date.now();
      for (;;) {
        nextCheckAt = waitStart + durationMs(spec.interval);
        const left = nextCheckAt - Date.now();
        if (left <= 0 || !spec.enabled) break;
        setCurrentDetails(details(model, state, note, nextCheckAt));
        const seen = settingsVersion;
        const woken = await condition(() => requested > 0 || settingsVersion !== seen, left);
        if (!woken || requested > 0) break;
      }
      if (!spec.enabled) break;
    }
    requested = 0; // requests that arrived while waiting are answered by this one check
    nextCheckAt = null;
    phase = 'checking';
    const n = state.checks + 1;
    const checked = spec;
    let summary: DriftCheckSummary | null = null;
    try {
      summary = await monitor.checkDrift({
        model,
        ...(input.dataset ? { dataset: input.dataset } : {}),
        checkId: `${compactTime(Date.now())}-${n}`,
        monitor: checked,
      });
    } catch (err) {
      // A check that keeps failing (database down) judges nothing; the monitor itself lives on.
      if (!(err instanceof ActivityFailure)) throw err;
      log.warn('drift check failed', { model, check: n, error: err.cause?.message ?? err.message });
    }
    const verdict =
      summary === null || (summary.status !== 'ok' && summary.status !== 'breach') ? 'unknown' : summary.breach ? 'breach' : 'clear';
    const decision = decide(
      state,
      {
        verdict,
        championVersion: summary?.championVersion ?? null,
        status: summary?.status ?? 'check-failed',
        samples: summary?.samples ?? 0,
        minSamples: checked.minSamples,
      },
      Date.now(),
      hysteresisOf(spec),
    );
    Object.assign(state, decision.state, { checks: n, notAlertingBecause: decision.reason }, summary ? { lastCheck: summary } : {});
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
  if (!spec.enabled) {
    // The model's spec turned monitoring off: the monitor ends; the lifecycle starts a new one
    // if it is turned back on.
    log.info('monitor disabled by new settings', { model });
    setCurrentDetails(`**monitor of ${model}**: ended, monitoring disabled by the model's spec`);
    return;
  }
  // Everything the next run needs: the counters, the settings in force, the refused payloads, and
  // a checkNow that came in after the last check.
  const next: DriftMonitorInput = { ...input, monitor: spec, state, refused, refusedTotal };
  delete next.checkPending;
  if (requested > 0) next.checkPending = true;
  await continueAsNew<typeof driftMonitor>(next);
}
