import { describe, expect, it } from 'vitest';
import { durationMs } from '../../lib/model-spec/duration.ts';
import { DURATION_WITH_UNIT, parseDurationMs } from '../../lib/time/duration.ts';

describe('parseDurationMs', () => {
  it('reads every unit', () => {
    const s = { bareUnit: 's' } as const;
    expect(parseDurationMs('500ms', s)).toBe(500);
    expect(parseDurationMs('30s', s)).toBe(30_000);
    expect(parseDurationMs('2m', s)).toBe(120_000);
    expect(parseDurationMs('1.5h', s)).toBe(5_400_000);
    expect(parseDurationMs('7d', s)).toBe(604_800_000);
    expect(parseDurationMs(' 10m ', s)).toBe(600_000);
  });

  it('counts a bare number in the unit the caller names', () => {
    // CLI flags (--timeout, --feedback-delay): seconds, as before.
    expect(parseDurationMs('30', { bareUnit: 's' })).toBe(30_000);
    expect(parseDurationMs('0.5', { bareUnit: 's' })).toBe(500);
    // Model specs: milliseconds, as before.
    expect(parseDurationMs(250, { bareUnit: 'ms' })).toBe(250);
    expect(parseDurationMs('250', { bareUnit: 'ms' })).toBe(250);
  });

  it('rounds to whole milliseconds', () => {
    expect(parseDurationMs('0.0004s', { bareUnit: 's' })).toBe(0);
    expect(parseDurationMs('1.0006s', { bareUnit: 's' })).toBe(1001);
  });

  it('rejects what is not a duration with a RangeError naming the bare unit', () => {
    expect(() => parseDurationMs('soon', { bareUnit: 's' })).toThrow(RangeError);
    expect(() => parseDurationMs('-5s', { bareUnit: 's' })).toThrow(
      'not a duration like 500ms, 30s, 15m, 2h or 7d (a bare number counts s): "-5s"',
    );
    expect(() => parseDurationMs('5w', { bareUnit: 'ms' })).toThrow('not a duration');
  });
});

describe('spec durations', () => {
  it('need a unit when written as a string; a number is milliseconds', () => {
    expect(DURATION_WITH_UNIT.test('15m')).toBe(true);
    expect(DURATION_WITH_UNIT.test('15')).toBe(false);
    expect(durationMs('15m')).toBe(900_000);
    expect(durationMs(1500)).toBe(1500);
  });
});
