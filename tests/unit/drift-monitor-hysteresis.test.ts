// The drift monitor's alert decision: N breaches in a row alert once, M clean checks re-arm,
// the cooldown spaces alerts, unknown verdicts move nothing, and a new champion re-arms.
import { describe, expect, it } from 'vitest';
import { decide, initialMonitorState, type CheckVerdict, type HysteresisOptions } from '../../lib/monitor/hysteresis.ts';
import type { MonitorState } from '../../lib/contracts/drift-monitor.ts';

const HOUR = 3_600_000;
const options: HysteresisOptions = { breachesToAlert: 2, clearsToRearm: 2, cooldownMs: 6 * HOUR };
const breach: CheckVerdict = { verdict: 'breach', championVersion: 1 };
const clear: CheckVerdict = { verdict: 'clear', championVersion: 1 };
const unknown: CheckVerdict = { verdict: 'unknown', championVersion: null };

/** Runs checks one interval apart; returns the alerts' check numbers (1-based) and the end state. */
function run(verdicts: CheckVerdict[], opts = options, intervalMs = 5 * 60_000, start: MonitorState = initialMonitorState('e')) {
  let state = start;
  const alerts: number[] = [];
  verdicts.forEach((v, i) => {
    const d = decide(state, v, Date.UTC(2001, 0, 1) + i * intervalMs, opts);
    state = d.state;
    if (d.alert) alerts.push(i + 1);
  });
  return { alerts, state };
}

describe('drift monitor hysteresis', () => {
  it('alerts once on the breachesToAlert-th breach in a row, however long the drift lasts', () => {
    const { alerts, state } = run(Array(20).fill(breach));
    expect(alerts).toEqual([2]);
    expect(state).toMatchObject({ armed: false, alerts: 1, consecutiveBreaches: 20, alertedVersion: 1 });
  });

  it('a single breach between clean checks never alerts', () => {
    expect(run([breach, clear, breach, clear, breach, clear]).alerts).toEqual([]);
  });

  it('re-arms after clearsToRearm clean checks in a row, and alerts again on a new episode after the cooldown', () => {
    const episode = [breach, breach, breach, clear, clear, breach, breach];
    // One hour apart: the second episode's second breach is 5 h after the first alert (cooldown 6 h)…
    expect(run([...episode, breach], options, HOUR).alerts).toEqual([2, 8]);
    // …five minutes apart, the whole second episode is inside the cooldown.
    expect(run([...episode, breach], options, 5 * 60_000).alerts).toEqual([2]);
  });

  it('one clean check between breaches does not re-arm when two are needed', () => {
    const noRealert = { ...options, mayRealert: () => false };
    expect(run([breach, breach, clear, breach, breach, breach], noRealert, HOUR * 7).alerts).toEqual([2]);
    // Still disarmed, but checks 7 h apart are each past the 6 h cooldown: persistent drift re-alerts.
    expect(run([breach, breach, clear, breach, breach, breach], options, HOUR * 7).alerts).toEqual([2, 4, 5, 6]);
  });

  it('too few samples (unknown) neither counts as a breach nor as a clean check', () => {
    expect(run([breach, unknown, breach]).alerts).toEqual([3]);
    expect(run([breach, breach, clear, unknown, clear, breach, breach], options, HOUR * 7).alerts).toEqual([2, 7]);
  });

  it('a new champion is a new reference: it re-arms, but the cooldown still holds', () => {
    const v2: CheckVerdict = { verdict: 'breach', championVersion: 2 };
    expect(run([breach, breach, v2, v2], options, HOUR * 7).alerts).toEqual([2, 4]);
    expect(run([breach, breach, v2, v2], options, HOUR).alerts).toEqual([2]);
  });

  it('breachesToAlert 1 alerts on the first breach; with the re-alert off, cooldown 0 still needs the re-arm', () => {
    const opts = { breachesToAlert: 1, clearsToRearm: 1, cooldownMs: 0 };
    expect(run([breach, breach, clear, breach], { ...opts, mayRealert: () => false }).alerts).toEqual([1, 4]);
    // With it on (the default), drift persisting past a zero cooldown alerts every breaching check.
    expect(run([breach, breach, clear, breach], opts).alerts).toEqual([1, 2, 4]);
  });

  it('drift that persists after an alert (the retrain failed or was rolled back) alerts again once per cooldown', () => {
    // Hourly checks, 6 h cooldown, 20 h of unbroken drift: the alert on check 2, then every 6 h.
    const { alerts, state } = run(Array(20).fill(breach), options, HOUR);
    expect(alerts).toEqual([2, 8, 14, 20]);
    expect(state).toMatchObject({ armed: false, alerts: 4, consecutiveBreaches: 20 });
    // Each re-alert is a new check, so the workflow's event id (…/<check n>) is new and the lifecycle takes it.
    expect(new Set(alerts).size).toBe(alerts.length);
  });

  it('the re-alert asks mayRealert only when it would fire, and a refusal keeps the old behaviour', () => {
    let asked = 0;
    const mayRealert = () => (asked++, false);
    const { alerts } = run(Array(20).fill(breach), { ...options, mayRealert }, HOUR);
    expect(alerts).toEqual([2]);
    expect(asked).toBe(13); // checks 8..20: disarmed, breaching, cooldown over
  });

  it('says why it is not alerting', () => {
    const at = (i: number) => Date.UTC(2001, 0, 1) + i * HOUR;
    const s0 = initialMonitorState('e');
    const d1 = decide(s0, breach, at(0), options);
    expect(d1.reason).toMatchObject({ code: 'below-breaches-to-alert', breachesNeeded: 1 });
    const d2 = decide(d1.state, breach, at(1), options);
    expect(d2).toMatchObject({ alert: true, reason: null });
    const d3 = decide(d2.state, breach, at(2), options);
    expect(d3.reason).toMatchObject({ code: 'disarmed', since: new Date(at(1)).toISOString(), until: new Date(at(7)).toISOString() });
    expect(d3.reason!.message).toContain('drift persists');
    const d4 = decide(d3.state, clear, at(3), options);
    expect(d4.reason).toMatchObject({ code: 'disarmed', clearsNeeded: 1 });
    const d5 = decide(d4.state, clear, at(4), options);
    expect(d5.reason).toMatchObject({ code: 'clean' });
    expect(d5.state.armed).toBe(true);
    // Armed again, two breaches, but the 6 h since the alert have not passed.
    const d7 = decide(decide(d5.state, breach, at(5), options).state, breach, at(6), options);
    expect(d7.reason).toMatchObject({ code: 'cooldown', until: new Date(at(7)).toISOString() });
    const few: CheckVerdict = { verdict: 'unknown', championVersion: 1, status: 'insufficient-data', samples: 12, minSamples: 500 };
    expect(decide(s0, few, at(0), options).reason).toEqual({
      code: 'insufficient-data',
      message: 'insufficient data: 12 predictions in the window, 500 needed',
    });
    expect(decide(s0, unknown, at(0), options).reason).toMatchObject({ code: 'check-failed' });
  });

  it('does not modify the state it is given', () => {
    const state = initialMonitorState('e');
    decide(state, breach, 0, { ...options, breachesToAlert: 1 });
    expect(state).toEqual(initialMonitorState('e'));
  });
});
