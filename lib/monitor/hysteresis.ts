import type { MonitorState } from '../contracts/drift-monitor.ts';
// The drift monitor's alert decision: hysteresis (N breaching checks in a row to alert, M clean
// ones to re-arm) plus a cooldown between alerts, so one drift episode sends one signal. Pure and
// free of Node imports: the workflow runs it.

export interface HysteresisOptions {
  breachesToAlert: number;
  clearsToRearm: number;
  cooldownMs: number;
}

/** One check's verdict as the hysteresis sees it; `unknown` (too few samples, no champion)
 * moves no counter. */
export interface CheckVerdict {
  verdict: 'breach' | 'clear' | 'unknown';
  championVersion: number | null;
}

export interface MonitorDecision {
  state: MonitorState;
  alert: boolean;
  /** Why it alerted or not, for logs and the Web UI. */
  note: string;
}

export function initialMonitorState(epoch: string): MonitorState {
  return { checks: 0, epoch, consecutiveBreaches: 0, consecutiveClears: 0, armed: true, alerts: 0 };
}

/** The state after one check at `nowMs`; `state` is not modified. */
export function decide(state: MonitorState, check: CheckVerdict, nowMs: number, options: HysteresisOptions): MonitorDecision {
  const next: MonitorState = { ...state };
  // A new champion is a new reference: drift against it is a new episode.
  if (!next.armed && check.championVersion !== null && next.alertedVersion !== undefined && check.championVersion !== next.alertedVersion) {
    next.armed = true;
    next.consecutiveBreaches = 0;
  }
  if (check.verdict === 'unknown') return { state: next, alert: false, note: 'nothing judged' };
  if (check.verdict === 'clear') {
    next.consecutiveBreaches = 0;
    next.consecutiveClears++;
    if (!next.armed && next.consecutiveClears >= options.clearsToRearm) {
      next.armed = true;
      return { state: next, alert: false, note: `re-armed after ${next.consecutiveClears} clean checks` };
    }
    return { state: next, alert: false, note: 'clean' };
  }
  next.consecutiveClears = 0;
  next.consecutiveBreaches++;
  if (!next.armed)
    return {
      state: next,
      alert: false,
      note: `breach ${next.consecutiveBreaches}; already alerted, waiting for ${options.clearsToRearm} clean checks`,
    };
  if (next.consecutiveBreaches < options.breachesToAlert) {
    return { state: next, alert: false, note: `breach ${next.consecutiveBreaches} of ${options.breachesToAlert} needed to alert` };
  }
  const readyAt = next.lastAlertAt === undefined ? -Infinity : Date.parse(next.lastAlertAt) + options.cooldownMs;
  if (nowMs < readyAt)
    return { state: next, alert: false, note: `breach ${next.consecutiveBreaches}; in cooldown until ${new Date(readyAt).toISOString()}` };
  next.armed = false;
  next.lastAlertAt = new Date(nowMs).toISOString();
  next.alerts++;
  if (check.championVersion !== null) next.alertedVersion = check.championVersion;
  else delete next.alertedVersion;
  return { state: next, alert: true, note: `alert after ${next.consecutiveBreaches} breaching checks` };
}
