import type { CheckStatus, MonitorReason, MonitorState } from '../contracts/drift-monitor.ts';
// The drift monitor's alert decision: hysteresis (N breaching checks in a row to alert, M clean
// ones to re-arm) plus a cooldown between alerts, so one drift episode sends one signal, and
// drift that outlives the retrain it caused (failed, rolled back, nothing new to train on) is
// signalled again once per cooldown. Pure and free of Node imports: the workflow runs it.

export interface HysteresisOptions {
  breachesToAlert: number;
  clearsToRearm: number;
  cooldownMs: number;
  /** Asked only when a disarmed monitor would re-alert on drift that persists; the workflow
   * answers with `patched()` so histories recorded before re-alerting replay unchanged.
   * @default () => true */
  mayRealert?: () => boolean;
}

/** One check's verdict as the hysteresis sees it; `unknown` (too few samples, no champion)
 * moves no counter. */
export interface CheckVerdict {
  verdict: 'breach' | 'clear' | 'unknown';
  championVersion: number | null;
  /** Why an `unknown` verdict judged nothing: the check's status, or `check-failed` when the
   * check activity failed. @default 'check-failed' */
  status?: CheckStatus | 'check-failed';
  /** The check's sample count, for the `insufficient-data` reason. */
  samples?: number;
  /** The spec's `minSamples`, for the `insufficient-data` reason. */
  minSamples?: number;
}

export interface MonitorDecision {
  state: MonitorState;
  alert: boolean;
  /** Why it alerted or not, for logs and the Web UI. */
  note: string;
  /** Why it did not alert (machine-readable, for `flywheel monitor status`); null when it did. */
  reason: MonitorReason | null;
}

export function initialMonitorState(epoch: string): MonitorState {
  return { checks: 0, epoch, consecutiveBreaches: 0, consecutiveClears: 0, armed: true, alerts: 0 };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function withReason(state: MonitorState, reason: MonitorReason, note = reason.message): MonitorDecision {
  return { state, alert: false, note, reason };
}

function unknownReason(check: CheckVerdict): MonitorReason {
  const status = check.status ?? 'check-failed';
  switch (status) {
    case 'insufficient-data':
      return {
        code: 'insufficient-data',
        message: `insufficient data: ${check.samples ?? 0} predictions in the window, ${check.minSamples ?? '?'} needed`,
      };
    case 'no-champion':
      return { code: 'no-champion', message: 'nothing judged: the model has no champion' };
    case 'no-reference':
      return { code: 'no-reference', message: "nothing judged: the champion's training profile (the reference) is missing" };
    default:
      return { code: 'check-failed', message: 'nothing judged: the check could not run (the worker log says why)' };
  }
}

function alertNow(state: MonitorState, check: CheckVerdict, nowMs: number, note: string): MonitorDecision {
  const next: MonitorState = { ...state, armed: false, lastAlertAt: iso(nowMs), alerts: state.alerts + 1 };
  if (check.championVersion !== null) next.alertedVersion = check.championVersion;
  else delete next.alertedVersion;
  return { state: next, alert: true, note, reason: null };
}

/** The state after one check at `nowMs`; `state` is not modified. */
export function decide(state: MonitorState, check: CheckVerdict, nowMs: number, options: HysteresisOptions): MonitorDecision {
  const next: MonitorState = { ...state };
  // A new champion is a new reference: drift against it is a new episode.
  if (!next.armed && check.championVersion !== null && next.alertedVersion !== undefined && check.championVersion !== next.alertedVersion) {
    next.armed = true;
    next.consecutiveBreaches = 0;
  }
  const readyAt = next.lastAlertAt === undefined ? -Infinity : Date.parse(next.lastAlertAt) + options.cooldownMs;
  const since = next.lastAlertAt ?? '?';
  if (check.verdict === 'unknown') return withReason(next, unknownReason(check), 'nothing judged');
  if (check.verdict === 'clear') {
    next.consecutiveBreaches = 0;
    next.consecutiveClears++;
    if (!next.armed && next.consecutiveClears >= options.clearsToRearm) {
      next.armed = true;
      return withReason(
        next,
        { code: 'clean', message: 'clean: no drift, no SLO breach' },
        `re-armed after ${next.consecutiveClears} clean checks`,
      );
    }
    if (!next.armed)
      return withReason(
        next,
        {
          code: 'disarmed',
          message: `disarmed since the alert at ${since}: ${next.consecutiveClears} of ${options.clearsToRearm} clean checks needed to re-arm`,
          since,
          clearsNeeded: options.clearsToRearm - next.consecutiveClears,
        },
        'clean',
      );
    return withReason(next, { code: 'clean', message: 'clean: no drift, no SLO breach' }, 'clean');
  }
  next.consecutiveClears = 0;
  next.consecutiveBreaches++;
  if (!next.armed) {
    // Still drifting after an alert: the retrain it asked for failed, was rolled back, or had
    // nothing new to train on. Clean checks will not come, so the cooldown bounds the silence.
    if (nowMs >= readyAt && (options.mayRealert ?? (() => true))())
      return alertNow(next, check, nowMs, `re-alert: breach ${next.consecutiveBreaches} in a row, drift persists past the cooldown`);
    return withReason(
      next,
      {
        code: 'disarmed',
        message: `disarmed since the alert at ${since}; drift persists (breach ${next.consecutiveBreaches}): alerts again at ${iso(readyAt)} unless ${options.clearsToRearm} clean checks re-arm it first`,
        since,
        until: iso(readyAt),
        clearsNeeded: options.clearsToRearm,
      },
      `breach ${next.consecutiveBreaches}; already alerted, re-alerts after the cooldown (${iso(readyAt)})`,
    );
  }
  if (next.consecutiveBreaches < options.breachesToAlert)
    return withReason(
      next,
      {
        code: 'below-breaches-to-alert',
        message: `breaching, ${next.consecutiveBreaches} of ${options.breachesToAlert} breaching checks in a row needed to alert`,
        breachesNeeded: options.breachesToAlert - next.consecutiveBreaches,
      },
      `breach ${next.consecutiveBreaches} of ${options.breachesToAlert} needed to alert`,
    );
  if (nowMs < readyAt)
    return withReason(
      next,
      { code: 'cooldown', message: `breaching, in cooldown until ${iso(readyAt)}`, until: iso(readyAt) },
      `breach ${next.consecutiveBreaches}; in cooldown until ${iso(readyAt)}`,
    );
  return alertNow(next, check, nowMs, `alert after ${next.consecutiveBreaches} breaching checks`);
}
