// Multiclass and regression metrics against values worked out by hand, and their edge cases: a
// class never predicted, constant targets for R², empty input, slices.
import { describe, expect, it } from 'vitest';
import {
  accuracy,
  confusionMatrix,
  evaluateMulticlass,
  evaluateRegression,
  mae,
  macroF1,
  multiclassLogLoss,
  perClassMetrics,
  r2,
  residualSummary,
  rmse,
  taskOfMetrics,
  topKAccuracy,
} from '../../lib/evaluation/index.ts';

// Five rows, three classes; class 2 occurs once and is never predicted.
const probabilities = Float32Array.from([0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.5, 0.3, 0.3, 0.4, 0.3, 0.5, 0.25, 0.25]);
const labels = Int32Array.from([0, 1, 2, 0, 0]);
const classes = ['Adelie', 'Chinstrap', 'Gentoo'];

describe('multiclass metrics', () => {
  it('counts the confusion matrix as [actual][predicted]', () => {
    expect(confusionMatrix(probabilities, labels, 3)).toEqual([
      [2, 1, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
  });

  it('accuracy 3/5; top-2 accuracy 5/5 (a tie ranks the lower class index first)', () => {
    expect(accuracy(probabilities, labels, 3)).toBeCloseTo(0.6, 12);
    expect(topKAccuracy(probabilities, labels, 3, 2)).toBe(1);
    expect(topKAccuracy(probabilities, labels, 3, 3)).toBe(1);
  });

  it('per-class precision/recall/F1, with 0 for a class never predicted, and macro-F1 over them', () => {
    const perClass = perClassMetrics(confusionMatrix(probabilities, labels, 3), classes);
    expect(perClass.map((c) => [c.class, c.support, c.predicted])).toEqual([
      ['Adelie', 3, 2],
      ['Chinstrap', 1, 3],
      ['Gentoo', 1, 0],
    ]);
    expect(perClass[0]!.precision).toBe(1);
    expect(perClass[0]!.recall).toBeCloseTo(2 / 3, 12);
    expect(perClass[0]!.f1).toBeCloseTo(0.8, 12);
    expect(perClass[1]!.precision).toBeCloseTo(1 / 3, 12);
    expect(perClass[1]!.f1).toBeCloseTo(0.5, 12);
    expect(perClass[2]).toMatchObject({ precision: 0, recall: 0, f1: 0 });
    expect(macroF1(perClass)).toBeCloseTo(1.3 / 3, 12);
  });

  it('macro-F1 leaves out a class absent from both labels and predictions', () => {
    const p = Float32Array.from([0.9, 0.1, 0, 0.2, 0.8, 0]);
    expect(macroF1(perClassMetrics(confusionMatrix(p, [0, 1], 3), classes))).toBe(1);
  });

  it('log loss is the mean −ln P(label)', () => {
    const expected = -(Math.log(0.7) + Math.log(0.6) + Math.log(0.3) + Math.log(0.3) + Math.log(0.5)) / 5;
    expect(multiclassLogLoss(probabilities, labels, 3)).toBeCloseTo(expected, 6);
    expect(multiclassLogLoss([1, 0, 0], [1], 3)).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it('refuses empty input, labels outside the classes and a probability array of the wrong size', () => {
    expect(() => accuracy([], [], 3)).toThrow(new RangeError('metrics need at least one row'));
    expect(() => accuracy([0.5, 0.5, 0], [3], 3)).toThrow(new RangeError('label at row 0 is 3, not a class index in [0, 3)'));
    expect(() => accuracy([0.5, 0.5], [0], 3)).toThrow(new RangeError('probabilities (2) are not labels (1) × classes (3)'));
    expect(() => accuracy([NaN, 0.5, 0], [0], 3)).toThrow(RangeError);
  });

  it('evaluateMulticlass gathers it all, per slice too, and names the worst slice', () => {
    const m = evaluateMulticlass({ probabilities, labels, classes, slices: { island: ['a', 'a', 'b', 'b', 'b'] }, minRows: 1 });
    expect(taskOfMetrics(m)).toBe('multiclass');
    expect(m).toMatchObject({ rows: 5, accuracy: 0.6, topK: { k: 2, accuracy: 1 } });
    expect(m.slices.island!.map((s) => [s.slice, s.rows, s.accuracy])).toEqual([
      ['b', 3, 1 / 3],
      ['a', 2, 1],
    ]);
    expect(m.worstSlice).toMatchObject({ family: 'island', slice: 'b' });
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});

describe('regression metrics', () => {
  const predictions = [1, 2, 3, 4];
  const targets = [1, 3, 2, 6];

  it('RMSE, MAE and R² by hand', () => {
    expect(rmse(predictions, targets)).toBeCloseTo(Math.sqrt(1.5), 12);
    expect(mae(predictions, targets)).toBe(1);
    expect(r2(predictions, targets)).toBeCloseTo(4 / 7, 12);
    expect(r2([3, 3, 3, 3], targets)).toBe(0); // the mean predictor
  });

  it('R² of constant targets is 1 for a perfect prediction and 0 otherwise, never NaN', () => {
    expect(r2([2, 2, 2], [2, 2, 2])).toBe(1);
    expect(r2([1, 2, 3], [2, 2, 2])).toBe(0);
  });

  it('summarises residuals (target − prediction)', () => {
    expect(residualSummary(predictions, targets)).toEqual({
      mean: 0.5,
      std: Math.sqrt(1.25),
      min: -1,
      p05: -1,
      median: 0,
      p95: 2,
      max: 2,
    });
  });

  it('refuses empty input, mismatched lengths and non-finite values', () => {
    expect(() => rmse([], [])).toThrow(new RangeError('metrics need at least one row'));
    expect(() => mae([1], [1, 2])).toThrow(new RangeError('predictions (1) and targets (2) differ in length'));
    expect(() => r2([1], [NaN])).toThrow(new RangeError('target at row 0 is NaN'));
  });

  it('evaluateRegression: metrics, slices, a sampled scatter and a residual histogram', () => {
    const m = evaluateRegression({
      predictions,
      targets,
      slices: { k: ['x', 'y', 'x', 'y'] },
      minRows: 1,
      maxScatterPoints: 3,
      residualBins: 3,
    });
    expect(taskOfMetrics(m)).toBe('regression');
    expect(m).toMatchObject({ rows: 4, mae: 1, targetMean: 3 });
    expect(m.slices.k!.map((s) => [s.slice, s.rmse])).toEqual([
      ['x', Math.sqrt(0.5)],
      ['y', Math.sqrt(2.5)],
    ]);
    expect(m.worstSlice).toMatchObject({ family: 'k', slice: 'y' });
    expect(m.charts.scatter).toEqual([
      { actual: 1, predicted: 1 },
      { actual: 2, predicted: 3 },
      { actual: 6, predicted: 4 },
    ]);
    expect(m.charts.residualHistogram.map((b) => b.count)).toEqual([1, 1, 2]);
    expect(m.charts.residualHistogram[0]!.lower).toBe(-1);
    expect(m.charts.residualHistogram[2]!.upper).toBe(2);
  });
});
