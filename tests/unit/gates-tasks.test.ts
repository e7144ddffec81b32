// Quality gates for multiclass and regression models: each gate passes and fails where it
// should, champion gates are skipped without a champion, slices are compared, and a gate of the
// wrong task is a zod error naming it.
import { describe, expect, it } from 'vitest';
import {
  checkTaskGates,
  evaluateMulticlass,
  evaluateRegression,
  qualityGatesSchemaFor,
  type MulticlassEvaluationMetrics,
  type RegressionEvaluationMetrics,
} from '../../lib/evaluation/index.ts';

const classes = ['a', 'b', 'c'];
function multiclass(correct: boolean[]): MulticlassEvaluationMetrics {
  const probabilities = correct.flatMap((ok, i) => {
    const label = i % 3;
    const predicted = ok ? label : (label + 1) % 3;
    return [0, 1, 2].map((k) => (k === predicted ? 0.8 : 0.1));
  });
  const labels = correct.map((_, i) => i % 3);
  return evaluateMulticlass({
    probabilities,
    labels,
    classes,
    slices: { half: correct.map((_, i) => (i < 3 ? 'first' : 'second')) },
    minRows: 1,
  });
}

function regression(errors: number[]): RegressionEvaluationMetrics {
  const targets = errors.map((_, i) => i);
  return evaluateRegression({
    predictions: targets.map((t, i) => t + errors[i]!),
    targets,
    slices: { half: targets.map((t) => (t < 2 ? 'low' : 'high')) },
    minRows: 1,
  });
}

describe('multiclass gates', () => {
  const champion = multiclass([true, true, true, true, true, false]); // accuracy 5/6
  const candidate = multiclass([true, false, true, true, true, true]); // accuracy 5/6, slice first 2/3

  it('checks absolute floors and the log-loss ceiling', () => {
    const report = checkTaskGates({ minAccuracy: 0.8, minMacroF1: 0.9, maxLogLoss: 1 }, { metrics: candidate });
    expect(report.gates.map((g) => [g.name, g.passed])).toEqual([
      ['minAccuracy', true],
      ['minMacroF1', false],
      ['maxLogLoss', true],
    ]);
    expect(report.summary).toBe(`2/3 gates passed — failed: macro-F1 ${candidate.macroF1.toFixed(3)} < min 0.9`);
  });

  it('compares with the champion, slices included, and skips without one', () => {
    const gates = { maxAccuracyDropVsChampion: 0, maxWorstSliceDrop: 0.2 };
    const report = checkTaskGates(gates, { metrics: candidate }, { metrics: champion });
    expect(report.gates[0]).toMatchObject({ name: 'maxAccuracyDropVsChampion', passed: true, observed: 0 });
    expect(report.gates[1]).toMatchObject({ name: 'maxWorstSliceDrop', passed: false });
    expect(report.gates[1]!.observed).toBeCloseTo(1 / 3, 12);
    expect(report.gates[1]!.message).toBe('worst slice half=first accuracy 0.667 vs champion 1.000 (max drop 0.2)');
    expect(checkTaskGates(gates, { metrics: candidate }).summary).toBe('2/2 gates passed (2 skipped: no champion)');
  });

  it('shares the latency and size gates', () => {
    const report = checkTaskGates({ maxModelSizeBytes: 100 }, { metrics: candidate, sizeBytes: 120 });
    expect(report.gates[0]!.message).toBe('model size 120 bytes > max 100 bytes');
  });
});

describe('regression gates', () => {
  const champion = regression([1, -1, 1, -1]); // RMSE 1
  const candidate = regression([1, -1, 2, -2]); // RMSE √2.5

  it('checks RMSE, MAE and R²', () => {
    const report = checkTaskGates({ maxRmse: 1.5, maxMae: 1, minR2: -1 }, { metrics: candidate });
    expect(report.gates.map((g) => [g.name, g.passed])).toEqual([
      ['maxRmse', false],
      ['maxMae', false],
      ['minR2', true],
    ]);
    expect(report.gates[0]!.message).toBe('RMSE 1.581 > max 1.5');
  });

  it('limits the relative RMSE increase over the champion, overall and per slice', () => {
    const report = checkTaskGates(
      { maxRmseIncreaseVsChampion: 0.6, maxWorstSliceRmseIncrease: 0.5 },
      { metrics: candidate },
      { metrics: champion },
    );
    expect(report.gates[0]).toMatchObject({ passed: true, message: 'RMSE 1.581 vs champion 1 (max increase 60%)' });
    expect(report.gates[0]!.observed).toBeCloseTo(Math.sqrt(2.5) - 1, 12);
    expect(report.gates[1]).toMatchObject({
      passed: false,
      observed: 1,
      message: 'worst slice half=high RMSE 2 vs champion 1 (max increase 50%)',
    });
  });
});

describe('gates of the wrong task', () => {
  it('is a zod error naming the gate and the task', () => {
    expect(qualityGatesSchemaFor('regression').safeParse({ maxRmse: 2, minAuc: 0.7 }).error?.issues[0]?.message).toBe(
      "minAuc is a binary classification gate; a regression model's gates are maxRmse, maxMae, minR2, maxRmseIncreaseVsChampion, maxWorstSliceRmseIncrease, maxP99LatencyMs, maxModelSizeBytes",
    );
    expect(qualityGatesSchemaFor('multiclass').safeParse({ maxRmse: 2 }).error?.issues[0]?.message).toMatch(
      /^maxRmse is a regression gate; a multiclass classification model's gates are minAccuracy, /,
    );
    const binary = qualityGatesSchemaFor('binary').safeParse({ minAuc: 0.7, minAccuracy: 0.9 });
    expect(binary.error?.issues[0]).toMatchObject({ path: ['minAccuracy'] });
    expect(binary.error?.issues[0]?.message).toMatch(
      /^minAccuracy is a multiclass classification gate; a binary classification model's gates are minAuc, /,
    );
    expect(qualityGatesSchemaFor('binary').parse({ minAuc: 0.7 })).toEqual({ minAuc: 0.7 });
    expect(qualityGatesSchemaFor('regression').safeParse({ maxTypo: 1 }).error?.issues[0]?.message).toMatch(
      /^maxTypo is not a quality gate; /,
    );
  });

  it('checkTaskGates refuses gates of another task and a champion of another task', () => {
    expect(() => checkTaskGates({ minAuc: 0.7 }, { metrics: regression([1, 1]) })).toThrow(/minAuc is a binary classification gate/);
    expect(() => checkTaskGates({}, { metrics: regression([1, 1]) }, { metrics: multiclass([true]) })).toThrow(
      new RangeError('the champion is a multiclass classification model, the candidate a regression one'),
    );
  });
});
