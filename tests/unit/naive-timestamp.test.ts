import { describe, expect, it } from 'vitest';
import { parseNaiveTimestamp } from '../../examples/flights/legacy-encoder.ts';
import { parseNaiveTimestampMs } from '../../lib/time/naive-timestamp.ts';

describe('naive timestamps (one parser for the flights and tabular encoders)', () => {
  it('parses a timestamp to epoch ms with UTC maths', () => {
    expect(parseNaiveTimestampMs('2001-03-04T13:45:00')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
    expect(parseNaiveTimestampMs('2001-03-04 13:45')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
    expect(parseNaiveTimestampMs('2001-03-04T13:45:00.250')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0) + 250);
  });

  it('takes a bare date unless the caller requires the time of day', () => {
    expect(parseNaiveTimestampMs('2001-03-04')).toBe(Date.UTC(2001, 2, 4));
    expect(parseNaiveTimestampMs('2001-03-04', { requireTime: true })).toBeNull();
    // The flights encoder needs the hour, so its parser requires the time.
    expect(parseNaiveTimestamp('2001-03-04')).toBeNull();
    expect(parseNaiveTimestamp('2001-03-04T13:45:00')).toBe(Date.UTC(2001, 2, 4, 13, 45, 0));
  });

  it('refuses zones, impossible dates and out-of-range parts', () => {
    for (const bad of ['2001-03-04T13:45:00Z', '2001-03-04T13:45:00+02:00', '2001-02-30T00:00', '2001-13-01', '2001-03-04T24:00', 'x']) {
      expect(parseNaiveTimestampMs(bad), bad).toBeNull();
    }
  });
});
