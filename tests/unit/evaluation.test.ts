// Model evaluation: metric values against hand arithmetic on eight rows, the F1 threshold
// chosen on validation rows, slices and the worst slice, quality gates against a champion
// (including a slice regression hidden by a better overall AUC), the HTML report, and latency
// of a real ONNX session.
import { describe, expect, it } from 'vitest';
import { evaluateBinary, measureLatency, type EvaluationMetrics } from '../../lib/evaluation/evaluate.ts';
import { checkGates, qualityGatesSchema, type GateCandidate, type QualityGates } from '../../lib/evaluation/gates.ts';
import {
  brierScore,
  calibration,
  chooseThreshold,
  confusionAt,
  expectedCalibrationError,
  logLoss,
  prAuc,
  prCurve,
  rocCurve,
  sliceMetrics,
  worstSlice,
} from '../../lib/evaluation/metrics.ts';
import { renderEvaluationReport } from '../../lib/evaluation/report-html.ts';
import { exportMlpToOnnx, OnnxSession } from '../../lib/onnx/index.ts';
import { randomMlp, roughNormal, seededRandom } from '../fixtures/synthetic.ts';

// Eight rows, highest score first. Positives score 0.9, 0.8, 0.6, 0.4; negatives 0.7, 0.55, 0.3, 0.1.
const SCORES = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.1];
const LABELS = [1, 1, 0, 1, 0, 1, 0, 0];
// Slice A: rows 0–4 (5 rows), B: rows 5–6 (2 rows), C: row 7 (1 row, negatives only).
const SLICE_KEYS = ['A', 'A', 'A', 'A', 'A', 'B', 'B', 'C'];

describe('metrics on eight hand-checked rows', () => {
  it('average precision is the step-wise sum Σ ΔR·P', () => {
    // Going down the scores: 0.9 → P 1/1 at R 1/4; 0.8 → 2/2 at 2/4; 0.6 → 3/4 at 3/4; 0.4 → 4/6 at 4/4
    // (the negatives add no recall). AP = (1 + 1 + 3/4 + 2/3) / 4 = 41/48.
    expect(prAuc(SCORES, LABELS)).toBeCloseTo(41 / 48, 12);
  });

  it('log loss and Brier score', () => {
    // Probabilities given to the true label: .9 .8 .3 .6 .45 .4 .7 .9; product = 0.01469664.
    // Log loss = −ln(0.01469664) / 8 = 4.2201364 / 8.
    expect(logLoss(SCORES, LABELS)).toBeCloseTo(-Math.log(0.01469664) / 8, 12);
    expect(logLoss(SCORES, LABELS)).toBeCloseTo(0.527517, 6);
    // Clipping at 1e-15: a confident mistake costs −ln(1e-15) ≈ 34.54, not Infinity.
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 9);
    // Squared errors: .01 .04 .49 .16 .3025 .36 .09 .01 → 1.4625 / 8.
    expect(brierScore(SCORES, LABELS)).toBeCloseTo(0.1828125, 12);
  });

  it('calibration bins and ECE', () => {
    // Two bins. [0, .5): .4 (pos) .3 .1 → mean 0.8/3, observed 1/3, 3 rows.
    // [.5, 1]: .9 .8 .7 .6 .55 → mean 3.55/5 = .71, observed 3/5, 5 rows.
    const bins = calibration(SCORES, LABELS, 2);
    expect(bins).toHaveLength(2);
    expect(bins[0]).toMatchObject({ lower: 0, upper: 0.5, count: 3 });
    expect(bins[0]!.meanPredicted).toBeCloseTo(0.8 / 3, 12);
    expect(bins[0]!.observedRate).toBeCloseTo(1 / 3, 12);
    expect(bins[1]).toMatchObject({ lower: 0.5, upper: 1, count: 5, observedRate: 0.6 });
    expect(bins[1]!.meanPredicted).toBeCloseTo(0.71, 12);
    // ECE = 3/8·|1/3 − 0.8/3| + 5/8·|.6 − .71| = 3/8·(0.2/3) + 5/8·0.11 = 0.025 + 0.06875.
    expect(expectedCalibrationError(SCORES, LABELS, 2)).toBeCloseTo(0.09375, 12);
    // Ten bins: every row lands alone in bin ⌊10p⌋, and bins 0 and 2 are empty, so left out.
    expect(calibration(SCORES, LABELS).map((b) => b.count)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('chooses the F1-maximizing threshold', () => {
    // Predict positive when score ≥ t; F1 = 2TP / (2TP + FP + FN):
    // t=.9: 2/5 · .8: 4/6 · .7: 4/7 · .6: 6/8 · .55: 6/9 · .4: 8/10 · .3: 8/11 · .1: 8/12 → t = 0.4.
    expect(chooseThreshold(SCORES, LABELS)).toBe(0.4);
    // Ties go to the higher threshold: [.8 pos, .5 neg, .4 neg, .2 pos] → t=.8: 2/3, .5: 2/4,
    // .4: 2/5, .2: 4/6 = 2/3 → 0.8.
    expect(chooseThreshold([0.8, 0.5, 0.4, 0.2], [1, 0, 0, 1])).toBe(0.8);
    expect(() => chooseThreshold([0.2, 0.4], [0, 0])).toThrow(RangeError);
  });

  it('confusion counts at a threshold', () => {
    // At 0.4: TP .9 .8 .6 .4; FP .7 .55; TN .3 .1; no FN.
    expect(confusionAt(SCORES, LABELS, 0.4)).toEqual({ tp: 4, fp: 2, tn: 2, fn: 0, precision: 4 / 6, recall: 1, f1: 0.8 });
    // Above every score nothing is predicted positive: precision is 0, not NaN.
    expect(confusionAt(SCORES, LABELS, 0.95)).toMatchObject({ tp: 0, fp: 0, precision: 0, recall: 0, f1: 0 });
  });

  it('ROC and PR curves, downsampled for charts', () => {
    // One step per distinct score: positives move TPR up by 1/4, negatives FPR right by 1/4.
    const roc = rocCurve(SCORES, LABELS);
    expect(roc.map((p) => [p.fpr, p.tpr])).toEqual([
      [0, 0],
      [0, 0.25],
      [0, 0.5],
      [0.25, 0.5],
      [0.25, 0.75],
      [0.5, 0.75],
      [0.5, 1],
      [0.75, 1],
      [1, 1],
    ]);
    // Three of nine points: indices 0, 4, 8.
    expect(rocCurve(SCORES, LABELS, 3)).toEqual([roc[0], roc[4], roc[8]]);
    const pr = prCurve(SCORES, LABELS);
    expect(pr[0]).toEqual({ recall: 0, precision: 1 });
    expect(pr.at(-1)).toEqual({ recall: 1, precision: 0.5 });
    expect(pr).toHaveLength(9);

    const many = Array.from({ length: 5000 }, (_, i) => i / 5000);
    const manyLabels = many.map((_, i) => i % 2);
    expect(rocCurve(many, manyLabels).length).toBeLessThanOrEqual(200);
    expect(prCurve(many, manyLabels).length).toBeLessThanOrEqual(200);
  });

  it('slices, largest first, and the worst slice', () => {
    // A: positives .9 .8 .6 vs negatives .7 .55 → .9 and .8 beat both, .6 beats .55: 5/6.
    // B: .4 (pos) beats .3 → 1. C: one negative → no AUC.
    const slices = sliceMetrics(SCORES, LABELS, SLICE_KEYS, { minRows: 1 });
    expect(slices.map((s) => [s.slice, s.rows, s.positives])).toEqual([
      ['A', 5, 3],
      ['B', 2, 1],
      ['C', 1, 0],
    ]);
    expect(slices[0]!.auc).toBeCloseTo(5 / 6, 12);
    expect(slices[1]!.auc).toBe(1);
    expect(slices[2]!.auc).toBeNull();
    // B's log loss: −(ln .4 + ln .7) / 2.
    expect(slices[1]!.logLoss).toBeCloseTo(-(Math.log(0.4) + Math.log(0.7)) / 2, 12);
    expect(worstSlice(slices)?.slice).toBe('A');

    expect(sliceMetrics(SCORES, LABELS, SLICE_KEYS, { minRows: 2 }).map((s) => s.slice)).toEqual(['A', 'B']);
    expect(sliceMetrics(SCORES, LABELS, SLICE_KEYS, { minRows: 1, maxSlices: 1 }).map((s) => s.slice)).toEqual(['A']);
    // The default 200-row floor leaves nothing from eight rows.
    expect(sliceMetrics(SCORES, LABELS, SLICE_KEYS)).toEqual([]);
    expect(worstSlice([{ slice: 'C', rows: 1, positives: 0, auc: null, logLoss: 0 }])).toBeNull();
  });

  it('refuses inputs it cannot score', () => {
    expect(() => logLoss([0.1, 0.2], [1])).toThrow(/differ in length/);
    expect(() => brierScore([0.1], [2])).toThrow(/not 0 or 1/);
    expect(() => prAuc([0.1, Number.NaN], [1, 0])).toThrow(/score at row 1/);
    expect(() => prAuc([0.1, 0.2], [0, 0])).toThrow(/at least one positive/);
    expect(() => sliceMetrics(SCORES, LABELS, ['A'])).toThrow(/sliceKeys/);
  });
});

describe('evaluateBinary', () => {
  it('reports test metrics at the threshold chosen on validation rows, as plain JSON', () => {
    // Validation: [.9 pos, .7 pos, .5 neg, .2 neg] → F1 at .9: 2/3, at .7: 1 → threshold .7.
    const metrics = evaluateBinary({
      scores: SCORES,
      labels: LABELS,
      validationScores: [0.9, 0.7, 0.5, 0.2],
      validationLabels: [1, 1, 0, 0],
      slices: { origin: SLICE_KEYS, hour: ['7', '7', '8', '8', '8', '8', '8', '8'] },
      minSliceRows: 1,
    });
    expect(metrics).toMatchObject({ rows: 8, positives: 4, rocAuc: 13 / 16, brier: 0.1828125, threshold: 0.7 });
    expect(metrics.prAuc).toBeCloseTo(41 / 48, 12);
    // At .7 on test: TP .9 .8, FP .7, FN .6 .4 → precision 2/3, recall 1/2, F1 = 4/7.
    expect(metrics.confusion).toEqual({ tp: 2, fp: 1, tn: 3, fn: 2 });
    expect(metrics.precision).toBeCloseTo(2 / 3, 12);
    expect(metrics.recall).toBe(0.5);
    expect(metrics.f1).toBeCloseTo(4 / 7, 12);
    // Hour 7 holds two positives (no AUC). Hour 8: positives .6 .4 vs negatives .7 .55 .3 .1;
    // .6 beats three, .4 beats two → 5/8, below origin A's 5/6 and B's 1.
    expect(metrics.slices['hour']!.map((s) => [s.slice, s.auc])).toEqual([
      ['8', 5 / 8],
      ['7', null],
    ]);
    expect(metrics.worstSlice).toMatchObject({ family: 'hour', slice: '8', rows: 6, auc: 5 / 8 });
    expect(metrics.curves.roc).toHaveLength(9);
    expect(JSON.parse(JSON.stringify(metrics))).toEqual(metrics);
  });
});

// Delayed-flight test sets: the same labelled rows scored by models of different strength.
const ORIGINS = ['ORD', 'ATL', 'DFW', 'SFO'];

function flights(rows: number, seed: number): { labels: number[]; origins: string[] } {
  const random = seededRandom(seed);
  return {
    labels: Array.from({ length: rows }, () => (random() < 0.3 ? 1 : 0)),
    origins: Array.from({ length: rows }, (_, i) => ORIGINS[i % ORIGINS.length]!),
  };
}

const TEST = flights(4000, 1);
const VALIDATION = flights(2000, 2);

/** A model separating the classes by `signal[origin]` standard deviations (on a logit scale). */
function evaluateModel(signal: Record<string, number>, seed: number): EvaluationMetrics {
  const score = (set: typeof TEST, s: number) => {
    const random = seededRandom(s);
    return set.labels.map((y, i) => 1 / (1 + Math.exp(-(-0.8 + signal[set.origins[i]!]! * (2 * y - 1) + roughNormal(random)))));
  };
  return evaluateBinary({
    scores: score(TEST, seed),
    labels: TEST.labels,
    validationScores: score(VALIDATION, seed + 1),
    validationLabels: VALIDATION.labels,
    slices: { origin: TEST.origins },
  });
}

const everywhere = (signal: number) => Object.fromEntries(ORIGINS.map((o) => [o, signal]));
const champion = { metrics: evaluateModel(everywhere(0.5), 10) };
const good = evaluateModel(everywhere(0.7), 20);
const bad = evaluateModel(everywhere(0.2), 30);
// Much better at three airports, much worse at ORD.
const sliceRegression = evaluateModel({ ORD: 0.1, ATL: 1.0, DFW: 1.0, SFO: 1.0 }, 40);

const GATES: QualityGates = {
  minAuc: 0.7,
  maxAucDropVsChampion: 0.01,
  maxWorstSliceDrop: 0.03,
  maxP99LatencyMs: 5,
  maxModelSizeBytes: 1_000_000,
};

function candidate(metrics: EvaluationMetrics): GateCandidate {
  return { metrics, latency: [{ batchSize: 1, iterations: 100, p50Ms: 0.05, p99Ms: 0.2 }], sizeBytes: 40_000 };
}

const failedNames = (report: ReturnType<typeof checkGates>) => report.gates.filter((g) => !g.passed).map((g) => g.name);

describe('quality gates', () => {
  it('passes a better candidate', () => {
    expect(good.rocAuc).toBeGreaterThan(champion.metrics.rocAuc);
    const report = checkGates(GATES, candidate(good), champion);
    expect(report.passed).toBe(true);
    expect(report.summary).toBe('5/5 gates passed');
    expect(report.gates.map((g) => g.name)).toEqual(Object.keys(GATES));
  });

  it('fails a worse candidate, naming the failed gates', () => {
    const report = checkGates(GATES, candidate(bad), champion);
    expect(report.passed).toBe(false);
    expect(failedNames(report)).toEqual(['minAuc', 'maxAucDropVsChampion', 'maxWorstSliceDrop']);
    expect(report.summary).toMatch(
      /^2\/5 gates passed — failed: AUC 0\.\d{3} < min 0\.7; AUC 0\.\d{3} vs champion 0\.\d{3} \(max drop 0\.01\); worst slice origin=/,
    );
    expect(report.gates[0]).toMatchObject({ name: 'minAuc', observed: bad.rocAuc, limit: 0.7 });
  });

  it('catches a slice regression even when overall AUC improves', () => {
    expect(sliceRegression.rocAuc).toBeGreaterThan(champion.metrics.rocAuc + 0.01);
    const report = checkGates(GATES, candidate(sliceRegression), champion);
    expect(failedNames(report)).toEqual(['maxWorstSliceDrop']);
    expect(report.summary).toMatch(
      /^4\/5 gates passed — failed: worst slice origin=ORD AUC 0\.\d{3} vs champion 0\.\d{3} \(max drop 0\.03\)$/,
    );
    const gate = report.gates.find((g) => g.name === 'maxWorstSliceDrop')!;
    const ord = (m: EvaluationMetrics) => m.slices['origin']!.find((s) => s.slice === 'ORD')!.auc!;
    expect(gate.observed).toBeCloseTo(ord(champion.metrics) - ord(sliceRegression), 12);
  });

  it('requires a gain when minAucGainVsChampion is declared', () => {
    const { maxAucDropVsChampion: _, ...rest } = GATES;
    const report = checkGates({ ...rest, minAucGainVsChampion: 0.5 }, candidate(good), champion);
    expect(failedNames(report)).toEqual(['minAucGainVsChampion']);
    expect(report.gates.find((g) => g.name === 'minAucGainVsChampion')!.observed).toBeCloseTo(good.rocAuc - champion.metrics.rocAuc, 12);
  });

  it('skips champion gates when there is no champion', () => {
    const report = checkGates(GATES, candidate(sliceRegression));
    expect(report.passed).toBe(true);
    expect(report.summary).toBe('5/5 gates passed (2 skipped: no champion)');
    expect(report.gates.filter((g) => g.skipped).map((g) => g.name)).toEqual(['maxAucDropVsChampion', 'maxWorstSliceDrop']);
  });

  it('fails latency and size gates on slow, large or unmeasured models', () => {
    const slow = { ...candidate(good), latency: [{ batchSize: 1, iterations: 100, p50Ms: 3, p99Ms: 12.5 }], sizeBytes: 2_000_000 };
    const report = checkGates(GATES, slow, champion);
    expect(failedNames(report)).toEqual(['maxP99LatencyMs', 'maxModelSizeBytes']);
    expect(report.summary).toContain('p99 latency 12.50 ms > max 5 ms; model size 2,000,000 bytes > max 1,000,000 bytes');
    const unmeasured = checkGates({ maxP99LatencyMs: 5, maxModelSizeBytes: 10 }, { metrics: good });
    expect(unmeasured.gates.map((g) => [g.passed, g.observed])).toEqual([
      [false, null],
      [false, null],
    ]);
  });

  it('validates declared gates', () => {
    expect(qualityGatesSchema.parse({})).toEqual({});
    expect(checkGates({}, candidate(bad)).summary).toBe('no quality gates declared');
    expect(qualityGatesSchema.safeParse({ maxAucDropVsChampion: 0.01, minAucGainVsChampion: 0.01 }).success).toBe(false);
    expect(qualityGatesSchema.safeParse({ minAUC: 0.7 }).success).toBe(false);
    expect(qualityGatesSchema.safeParse({ minAuc: 1.5 }).success).toBe(false);
  });
});

describe('renderEvaluationReport', () => {
  it('draws every chart as inline SVG and escapes text', async () => {
    const gates = checkGates(GATES, candidate(sliceRegression), champion);
    const html = await renderEvaluationReport({
      title: 'flights-delay v4 <script>alert("x")</script>',
      candidate: { ...candidate(sliceRegression), label: 'v4' },
      champion: { ...champion, label: 'v3' },
      gates,
    });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    // ROC, precision–recall, calibration, AUC per slice.
    expect(html.match(/<svg/g)).toHaveLength(4);
    expect(html).not.toContain('<script');
    expect(html).toContain('flights-delay v4 &#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(html).toContain('worst slice origin=ORD');
    expect(html).toContain('Champion (v3)');

    const alone = await renderEvaluationReport({
      title: 'no champion',
      candidate: candidate(good),
      gates: checkGates(GATES, candidate(good)),
    });
    expect(alone.match(/<svg/g)).toHaveLength(4);
    expect(alone).not.toContain('<th>Champion');
  });
});

describe('measureLatency', () => {
  it('times a real ONNX session per batch size', async () => {
    const dim = 16;
    const bytes = exportMlpToOnnx(randomMlp([dim, 8, 1], seededRandom(3)), { featureSpecHash: 'sha256:test', datasetVersion: 'test' });
    const session = await OnnxSession.create(bytes);
    try {
      const latency = await measureLatency(session, dim, [1, 64], 30);
      expect(latency.map((l) => [l.batchSize, l.iterations])).toEqual([
        [1, 30],
        [64, 30],
      ]);
      for (const { p50Ms, p99Ms } of latency) {
        expect(p50Ms).toBeGreaterThan(0);
        expect(p50Ms).toBeLessThanOrEqual(p99Ms);
      }
    } finally {
      await session.dispose();
    }
  });
});
