// The canary verdict: the sample-size guard, each check failing on its own, labels gating the
// online AUC, and the champion's p99 floor.
import { describe, expect, it } from 'vitest';
import { aucStandardError, judgeStep, SCORE_BINS, type AnalysisCriteria, type ArmStats } from '../../lib/rollout/analysis.ts';

const criteria: AnalysisCriteria = {
  minSamples: 100,
  maxErrorRateIncrease: 0.01,
  maxP99Ratio: 3,
  p99FloorMs: 50,
  maxPredictionShift: 0.25,
  minLabels: 50,
  maxAucDrop: 0.03,
};

function arm(over: Partial<ArmStats> = {}): ArmStats {
  const hist = new Array<number>(SCORE_BINS).fill(0);
  hist[1] = 60;
  hist[2] = 30;
  hist[5] = 10;
  return {
    version: 1,
    shadow: false,
    samples: 500,
    errors: 0,
    errorRate: 0,
    p99LatencyMs: 5,
    scoreHistogram: hist,
    labels: 0,
    positives: 0,
    auc: null,
    ...over,
  };
}

describe('judgeStep', () => {
  it('passes equal arms with enough samples; online AUC is not judged without labels', () => {
    const j = judgeStep(arm(), arm({ version: 2 }), criteria);
    expect(j.verdict).toBe('pass');
    expect(j.predictionShift).toBeCloseTo(0, 9);
    expect(j.checks.find((c) => c.name === 'onlineAuc')).toMatchObject({ ok: null });
  });

  it('waits below minSamples on either arm, whatever the numbers say', () => {
    expect(judgeStep(arm(), arm({ samples: 99, errorRate: 0.5, errors: 50 }), criteria).verdict).toBe('wait');
    expect(judgeStep(arm({ samples: 10 }), arm(), criteria)).toMatchObject({
      verdict: 'wait',
      reasons: [expect.stringMatching(/^samples: /)],
    });
  });

  it('fails on each check alone', () => {
    const shifted = new Array<number>(SCORE_BINS).fill(0);
    shifted[9] = 100;
    const cases: Array<[string, Partial<ArmStats>]> = [
      ['errorRate', { errors: 10, errorRate: 0.02 }],
      ['p99Latency', { p99LatencyMs: 51 }],
      ['predictionShift', { scoreHistogram: shifted }],
      ['onlineAuc', { labels: 2000, positives: 500, auc: 0.6 }],
    ];
    for (const [name, over] of cases) {
      const champion = name === 'onlineAuc' ? arm({ labels: 2000, positives: 500, auc: 0.7 }) : arm();
      const j = judgeStep(champion, arm({ version: 2, ...over }), criteria);
      expect(j.verdict, name).toBe('fail');
      expect(j.reasons, name).toEqual([expect.stringMatching(new RegExp(`^${name}: `))]);
    }
  });

  it('allows p99 under the floor however it compares, and an AUC drop within the limit', () => {
    expect(judgeStep(arm({ p99LatencyMs: 1 }), arm({ p99LatencyMs: 40 }), criteria).verdict).toBe('pass');
    expect(
      judgeStep(arm({ labels: 2000, positives: 500, auc: 0.7 }), arm({ labels: 2000, positives: 500, auc: 0.68 }), criteria).verdict,
    ).toBe('pass');
    expect(judgeStep(arm({ labels: 60, positives: 15, auc: 0.7 }), arm({ labels: 49, positives: 12, auc: 0.5 }), criteria).verdict).toBe(
      'pass',
    ); // too few labels: not judged
  });

  it('lets a drop within the sampling noise of few labels pass, and fails the same drop on many', () => {
    // 0.05 below the champion: noise on 150 labels per arm, a real drop on 20,000.
    const few = judgeStep(arm({ labels: 150, positives: 40, auc: 0.7 }), arm({ labels: 150, positives: 40, auc: 0.65 }), criteria);
    expect(few.verdict).toBe('pass');
    const many = judgeStep(
      arm({ labels: 20_000, positives: 4000, auc: 0.7 }),
      arm({ labels: 20_000, positives: 4000, auc: 0.65 }),
      criteria,
    );
    expect(many).toMatchObject({ verdict: 'fail', reasons: [expect.stringMatching(/^onlineAuc: /)] });
  });

  it('computes the Hanley–McNeil standard error', () => {
    // By hand: AUC 0.8, 50 positives, 50 negatives → Q1 = 2/3, Q2 = 32/45,
    // variance = (0.16 + 49·(2/3 − 0.64) + 49·(32/45 − 0.64)) / 2500 ≈ 0.00198, SE ≈ 0.0445.
    expect(aucStandardError(0.8, 50, 50)).toBeCloseTo(0.0445, 4);
    expect(aucStandardError(0.7, 0, 10)).toBe(Infinity);
  });
});
