import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sloReason } from '../../lib/monitor/report.ts';

describe('sloReason', () => {
  it('names the SLO, what was seen and the limit it crossed', () => {
    expect(sloReason({ name: 'p99LatencyMs', observed: 80, limit: 50, judged: true, breached: true })).toBe(
      'SLO p99 latency (ms): 80 > 50',
    );
    expect(sloReason({ name: 'minAuc', observed: 0.612345, limit: 0.7, judged: true, breached: true })).toBe(
      'SLO online AUC: 0.6123 < 0.7',
    );
    expect(sloReason({ name: 'maxErrorRate', observed: null, limit: 0.01, judged: false, breached: false })).toBe(
      'SLO error rate: — > 0.01',
    );
  });
});

describe('the drift check and its HTML report', () => {
  it('do not import each other (both take the report shape from lib/monitor/report.ts)', () => {
    expect(readFileSync('lib/monitor/drift-report-html.ts', 'utf8')).not.toMatch(/from '\.\/check\.ts'/);
  });
});
