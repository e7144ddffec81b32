// The evaluation report per task: a multiclass report shows a confusion-matrix heatmap and
// per-class bars, a regression report predicted against actual and a residual histogram, both
// with their own metrics table; the binary report is byte-identical to what it was before tasks
// existed (sha256 of the HTML from then, on a fixed input).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkGates,
  checkTaskGates,
  evaluateBinary,
  evaluateMulticlass,
  evaluateRegression,
  renderEvaluationReport,
} from '../../lib/evaluation/index.ts';

/** Park–Miller: the same numbers the pinned binary report was rendered from. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

function binary(seed: number) {
  const rnd = lcg(seed);
  const n = 1200;
  const labels = Array.from({ length: n }, () => (rnd() < 0.3 ? 1 : 0));
  const scores = labels.map((y) => Math.min(1, Math.max(0, 0.3 + (y ? 0.25 : -0.05) + (rnd() - 0.5) * 0.6)));
  const keys = labels.map((_, i) => ['ORD', 'ATL', 'SFO', 'JFK'][i % 4]!);
  return evaluateBinary({ scores, labels, validationScores: scores, validationLabels: labels, slices: { origin: keys } });
}

const latency = [{ batchSize: 1, iterations: 10, p50Ms: 0.1, p99Ms: 0.3 }];
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('binary report', () => {
  it('is byte-identical to the report before tasks existed, with and without a champion', async () => {
    const candidate = { metrics: binary(7), latency, sizeBytes: 12345, label: 'v4' };
    const champion = { metrics: binary(11), label: 'v3' };
    const gates = checkGates(
      { minAuc: 0.6, maxAucDropVsChampion: 0.01, maxWorstSliceDrop: 0.02, maxP99LatencyMs: 5, maxModelSizeBytes: 100000 },
      candidate,
      champion,
    );
    const html = await renderEvaluationReport({ title: 'flights-delay <v4>', candidate, champion, gates });
    expect(sha256(html)).toBe('803e205b94bf4f41fb9340d787c6628caceedc8c6e63c8d7b75f99dbd1d09005');
    const alone = await renderEvaluationReport({ title: 'alone', candidate, gates: checkGates({ minAuc: 0.6 }, candidate) });
    expect(sha256(alone)).toBe('4f87bacc9d3f6593df74e37e69283caa371bc77ce9dbc27e2d8ea9e54080f065');
  });
});

const classes = ['Adelie', 'Chinstrap', 'Gentoo'];
function multiclass(seed: number) {
  const rnd = lcg(seed);
  const n = 600;
  const labels = Array.from({ length: n }, () => Math.floor(rnd() * 3));
  const probabilities = labels.flatMap((y) => {
    const raw = [0, 1, 2].map((k) => rnd() + (k === y ? 0.8 : 0) + (k === 2 ? 0.3 : 0));
    const sum = raw.reduce((a, b) => a + b, 0);
    return raw.map((v) => v / sum);
  });
  return evaluateMulticlass({ probabilities, labels, classes, slices: { island: labels.map((_, i) => ['Biscoe', 'Dream'][i % 2]!) } });
}

function regression(seed: number) {
  const rnd = lcg(seed);
  const n = 2000;
  const targets = Array.from({ length: n }, () => 10 + 30 * rnd());
  const predictions = targets.map((t) => t + (rnd() - 0.5) * 8);
  return evaluateRegression({ predictions, targets, slices: { origin: targets.map((_, i) => ['USA', 'Europe', 'Japan'][i % 3]!) } });
}

describe('multiclass report', () => {
  it('shows the multiclass metrics, a confusion-matrix heatmap, per-class F1 and accuracy per slice', async () => {
    const candidate = { metrics: multiclass(3), latency, label: 'v2' };
    const champion = { metrics: multiclass(5), label: 'v1' };
    const gates = checkTaskGates({ minAccuracy: 0.5, maxAccuracyDropVsChampion: 0.05 }, candidate, champion);
    const html = await renderEvaluationReport({ title: 'penguins <v2>', candidate, champion, gates });
    expect(html.match(/<svg/g)).toHaveLength(3);
    for (const text of [
      'Confusion matrix (candidate)',
      'F1 per class',
      'Accuracy per slice',
      '<th>Macro-F1</th>',
      '<th>Top-2 accuracy</th>',
    ])
      expect(html).toContain(text);
    expect(html).toContain('Champion (v1)');
    expect(html).toContain('penguins &#60;v2&#62;');
    expect(html).not.toContain('ROC');
    expect(html).not.toContain('<script');
    expect(html).toContain(`>${candidate.metrics.confusion[0]![0]}</text>`); // a count drawn in its cell
  });
});

describe('regression report', () => {
  it('shows RMSE/MAE/R², predicted vs actual on a sample, residuals and RMSE per slice', async () => {
    const candidate = { metrics: regression(3), label: 'v2' };
    expect(candidate.metrics.charts.scatter).toHaveLength(500);
    const gates = checkTaskGates({ maxRmse: 5, minR2: 0.5 }, candidate);
    const html = await renderEvaluationReport({ title: 'cars', candidate, gates });
    expect(html.match(/<svg/g)).toHaveLength(3);
    for (const text of ['Predicted vs actual (500 sampled test rows)', 'Residuals', 'RMSE per slice', '<th>RMSE</th>', '<th>R²</th>'])
      expect(html).toContain(text);
    expect(html).not.toContain('<th>Champion');

    const withChampion = await renderEvaluationReport({ title: 'cars', candidate, champion: { metrics: regression(9) }, gates });
    expect(withChampion).toContain('<th>Champion</th>');
  });

  it('refuses a champion of another task', async () => {
    const gates = checkTaskGates({}, { metrics: regression(3) });
    await expect(
      renderEvaluationReport({ title: 'x', candidate: { metrics: regression(3) }, champion: { metrics: multiclass(3) }, gates }),
    ).rejects.toThrow(new RangeError('the champion is a multiclass model, the candidate a regression one'));
  });
});
