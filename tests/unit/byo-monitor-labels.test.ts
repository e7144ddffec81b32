// Label and prediction drift and online quality per task, against the training label
// distribution of the reference profile (`__label`): concrete verdicts for shifted and unchanged
// labels of a binary, a multiclass and a regression model.
import { describe, expect, it } from 'vitest';
import type { DatasetProfile } from '../../lib/data/profile-types.ts';
import { judgeSlos } from '../../lib/monitor/check.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { labelReference, sloMetrics, totalVariation } from '../../lib/monitor/labels.ts';
import type { WindowRow } from '../../lib/monitor/window.ts';
import { categoricalProfile, categoricalSample, datasetProfile, normalSample, numericProfile } from './helpers/profile-from-arrays.ts';

const reference = (label: DatasetProfile['features'][string]): DatasetProfile => datasetProfile('train', { __label: label });
const repeat = <T>(n: number, v: T): T[] => Array<T>(n).fill(v);

describe('binary', () => {
  // 30% of the training rows are positive.
  const ref = labelReference(reference(numericProfile([...repeat(300, 1), ...repeat(700, 0)])), 'binary');
  const rows = (positives: number, n = 400): WindowRow[] =>
    Array.from({ length: n }, (_, i) => ({ features: {}, output: i < positives ? 0.8 : 0.1, latencyMs: 1, label: i < positives ? 1 : 0 }));

  it('reads the training positive share from __label', () => {
    expect(ref).toEqual({ kind: 'binary', positiveRate: 0.3 });
  });

  it('breaches maxLabelShift when the positive share moves, not when it holds', () => {
    const slo = { minLabels: 100, maxLabelShift: 0.1, minAuc: 0.9 };
    const moved = sloMetrics(rows(240), 100, 'binary', ref); // 60% positive
    expect(moved).toMatchObject({ task: 'binary', labels: 400, positiveRate: 0.6, auc: 1 });
    expect(moved.labelShift).toBeCloseTo(0.3, 12);
    expect(
      judgeSlos(moved, slo)
        .filter((s) => s.breached)
        .map((s) => s.name),
    ).toEqual(['maxLabelShift']);
    const held = sloMetrics(rows(124), 100, 'binary', ref); // 31% positive
    expect(judgeSlos(held, slo).filter((s) => s.breached)).toEqual([]);
  });
});

describe('multiclass', () => {
  const training = categoricalSample(2000, { sun: 0.45, rain: 0.4, fog: 0.1, snow: 0.05 }, 1);
  const ref = labelReference(reference(categoricalProfile(training)), 'multiclass');
  /** Rows whose true classes are `labels` and predictions `predicted` (same length). */
  const rows = (labels: readonly string[], predicted: readonly string[]): WindowRow[] =>
    labels.map((l, i) => ({ features: {}, output: 0.7, outputClass: predicted[i]!, latencyMs: 1, label: null, labelClass: l }));
  const slo = { minLabels: 100, maxLabelShift: 0.15, minAccuracy: 0.6, maxPredictionShift: 0.2 };

  it('reads the training class shares from __label', () => {
    expect(ref?.kind).toBe('multiclass');
    const shares = (ref as { shares: Record<string, number> }).shares;
    expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(shares.sun).toBeCloseTo(0.45, 1);
  });

  it('unchanged classes, predicted right 80% of the time: no breach', () => {
    const labels = categoricalSample(500, { sun: 0.45, rain: 0.4, fog: 0.1, snow: 0.05 }, 2);
    const predicted = labels.map((l, i) => (i % 5 === 0 ? (l === 'sun' ? 'rain' : 'sun') : l));
    const m = sloMetrics(rows(labels, predicted), 100, 'multiclass', ref);
    expect(m).toMatchObject({ task: 'multiclass', labels: 500, auc: null, accuracy: 0.8 });
    expect(m.labelShift!).toBeLessThan(0.1);
    expect(judgeSlos(m, slo).filter((s) => s.breached)).toEqual([]);
  });

  it('a new class mix breaches maxLabelShift (total variation distance); a model stuck on one class breaches accuracy and prediction shift', () => {
    const labels = categoricalSample(500, { sun: 0.1, rain: 0.3, fog: 0.3, snow: 0.3 }, 3);
    const m = sloMetrics(rows(labels, labels), 100, 'multiclass', ref);
    expect(m.accuracy).toBe(1);
    expect(m.labelShift!).toBeGreaterThan(0.3);
    expect(
      judgeSlos(m, slo)
        .filter((s) => s.breached)
        .map((s) => s.name),
    ).toEqual(['maxLabelShift', 'maxPredictionShift']);

    const steady = categoricalSample(500, { sun: 0.45, rain: 0.4, fog: 0.1, snow: 0.05 }, 4);
    const stuck = sloMetrics(rows(steady, repeat(500, 'sun')), 100, 'multiclass', ref);
    expect(stuck.accuracy!).toBeCloseTo(0.45, 1);
    expect(stuck.predictionShift!).toBeCloseTo(0.55, 1);
    expect(
      judgeSlos(stuck, slo)
        .filter((s) => s.breached)
        .map((s) => s.name),
    ).toEqual(['minAccuracy', 'maxPredictionShift']);
  });

  it('judges nothing on labels with too few rows, and AUC / RMSE SLOs not at all', () => {
    const m = sloMetrics(rows(repeat(50, 'fog'), repeat(50, 'fog')), 100, 'multiclass', ref);
    expect(m).toMatchObject({ accuracy: null, labelShift: null, predictionShift: null });
    expect(judgeSlos(m, { minLabels: 100, minAuc: 0.7, maxRmse: 1, minAccuracy: 0.5 }).map((s) => [s.name, s.judged])).toEqual([
      ['minAuc', false],
      ['minAccuracy', false],
      ['maxRmse', false],
    ]);
  });

  it('total variation distance is half the L1 distance over the union of classes', () => {
    expect(totalVariation({ a: 0.5, b: 0.5 }, { a: 0.5, c: 0.5 })).toBeCloseTo(0.5, 12);
    expect(totalVariation({ a: 1 }, { a: 1 })).toBe(0);
  });
});

describe('regression', () => {
  // Training temperatures ~ N(12, 5).
  const training = normalSample(4000, 12, 5, 7);
  const ref = labelReference(reference(numericProfile(training)), 'regression');
  const rows = (labels: readonly number[], predictions: readonly number[]): WindowRow[] =>
    labels.map((l, i) => ({ features: {}, output: predictions[i]!, latencyMs: 1, label: l }));
  const slo = { minLabels: 100, maxLabelShift: 0.25, maxRmse: 2, maxPredictionShift: 0.25 };

  it('reads the training mean and std from __label', () => {
    expect(ref).toMatchObject({ kind: 'regression', mean: expect.closeTo(12, 0) as number, std: expect.closeTo(5, 0) as number });
  });

  it('unchanged labels predicted within ±1: no breach; RMSE and MAE reported', () => {
    const labels = normalSample(600, 12, 5, 8);
    const predictions = labels.map((l, i) => l + (i % 2 === 0 ? 1 : -1));
    const m = sloMetrics(rows(labels, predictions), 100, 'regression', ref);
    expect(m).toMatchObject({ task: 'regression', labels: 600, auc: null });
    expect(m.rmse).toBeCloseTo(1, 9);
    expect(m.mae).toBeCloseTo(1, 9);
    expect(m.labelShift!).toBeLessThan(0.1);
    expect(m.predictionShift!).toBeLessThan(0.15);
    expect(judgeSlos(m, slo).filter((s) => s.breached)).toEqual([]);
  });

  it('labels 3° warmer breach the label shift (in training std units); predictions that miss by 3° breach RMSE', () => {
    const warmer = normalSample(600, 15, 5, 9);
    const m = sloMetrics(rows(warmer, warmer), 100, 'regression', ref);
    // 3° over a training std of 5°, give or take the window's sampling noise (±0.04 std).
    expect(m.labelShift!).toBeGreaterThan(0.5);
    expect(m.labelShift!).toBeLessThan(0.75);
    expect(m.predictionShift!).toBeGreaterThan(0.5);
    expect(
      judgeSlos(m, slo)
        .filter((s) => s.breached)
        .map((s) => s.name),
    ).toEqual(['maxLabelShift', 'maxPredictionShift']);

    const labels = normalSample(600, 12, 5, 10);
    const off = sloMetrics(
      rows(
        labels,
        labels.map((l, i) => l + (i % 2 === 0 ? 3 : -3)),
      ),
      100,
      'regression',
      ref,
    );
    expect(off.rmse).toBeCloseTo(3, 9);
    expect(
      judgeSlos(off, slo)
        .filter((s) => s.breached)
        .map((s) => s.name),
    ).toEqual(['maxRmse']);
  });

  it('a profile without __label (from before tasks) judges no label or prediction shift', () => {
    expect(labelReference(datasetProfile('old', { delay: numericProfile([1, 2, 3]) }), 'regression')).toBeNull();
    const m = sloMetrics(rows(training.slice(0, 200), training.slice(0, 200)), 100, 'regression', null);
    expect(m).toMatchObject({ labelShift: null, predictionShift: null, rmse: 0 });
  });
});

describe('the monitor spec', () => {
  it('takes the per-task SLOs; a regression label shift is in standard deviations, so above 1 is allowed', () => {
    expect(monitorSpecSchema.parse({ slo: { minAccuracy: 0.7, maxRmse: 2.5, maxPredictionShift: 0.2, maxLabelShift: 1.5 } }).slo).toEqual({
      minAccuracy: 0.7,
      maxRmse: 2.5,
      maxPredictionShift: 0.2,
      maxLabelShift: 1.5,
      minLabels: 200,
    });
    expect(() => monitorSpecSchema.parse({ slo: { minAccuracy: 1.5 } })).toThrow();
    expect(() => monitorSpecSchema.parse({ slo: { maxRmse: 0 } })).toThrow();
  });
});
