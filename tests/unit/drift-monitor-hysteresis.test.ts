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
    expect(run([breach, breach, clear, breach, breach, breach], options, HOUR * 7).alerts).toEqual([2]);
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

  it('breachesToAlert 1 alerts on the first breach; cooldown 0 still needs the re-arm', () => {
    expect(run([breach, breach, clear, breach], { breachesToAlert: 1, clearsToRearm: 1, cooldownMs: 0 }).alerts).toEqual([1, 4]);
  });

  it('does not modify the state it is given', () => {
    const state = initialMonitorState('e');
    decide(state, breach, 0, { ...options, breachesToAlert: 1 });
    expect(state).toEqual(initialMonitorState('e'));
  });
});
