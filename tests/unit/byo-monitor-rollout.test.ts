// The canary analysis per task: multiclass compares online accuracy and the predicted-class mix,
// regression online RMSE and the value distribution; binary is unchanged. Pure verdicts on arm
// statistics, then the same numbers read from a prediction log (PGlite) by the activity, which
// finds the task in the challenger's fitted features.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutActivities } from '../../activities/rollout/index.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { BuiltinRegistry, FEATURE_SPEC_TAG } from '../../lib/registry/index.ts';
import { judgeStep, readArmStats, readValueEdges, SCORE_BINS, type AnalysisCriteria, type ArmStats } from '../../lib/rollout/analysis.ts';
import { LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import type { Task } from '../../lib/tasks/task.ts';

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
  return {
    version: 1,
    shadow: false,
    samples: 500,
    errors: 0,
    errorRate: 0,
    p99LatencyMs: 5,
    scoreHistogram: new Array<number>(SCORE_BINS).fill(50),
    labels: 0,
    positives: 0,
    auc: null,
    ...over,
  };
}

const names = (j: ReturnType<typeof judgeStep>) => j.checks.map((c) => `${c.name}:${String(c.ok)}`);

describe('judgeStep, multiclass', () => {
  const classes = { sun: 250, rain: 200, fog: 50 };
  const mc = (over: Partial<ArmStats> = {}) => arm({ task: 'multiclass', classCounts: classes, ...over });

  it('passes equal arms, judging accuracy and the predicted-class mix', () => {
    const j = judgeStep(
      mc({ labels: 400, correct: 300, accuracy: 0.75 }),
      mc({ version: 2, labels: 400, correct: 300, accuracy: 0.75 }),
      criteria,
    );
    expect(j.verdict).toBe('pass');
    expect(names(j)).toEqual(['samples:true', 'errorRate:true', 'p99Latency:true', 'predictionShift:true', 'onlineAccuracy:true']);
    expect(j.predictionShift).toBeCloseTo(0, 9);
  });

  it('fails an accuracy drop beyond maxAccuracyDrop plus noise; a small drop on few labels passes', () => {
    const champion = mc({ labels: 4000, accuracy: 0.75 });
    const worse = judgeStep(champion, mc({ version: 2, labels: 4000, accuracy: 0.65 }), { ...criteria, maxAccuracyDrop: 0.05 });
    expect(worse).toMatchObject({
      verdict: 'fail',
      reasons: [expect.stringMatching(/^onlineAccuracy: online accuracy challenger 0\.6500/)],
    });
    // Without maxAccuracyDrop, maxAucDrop (0.03) is the limit.
    expect(judgeStep(champion, mc({ version: 2, labels: 4000, accuracy: 0.7 }), criteria).verdict).toBe('fail');
    expect(judgeStep(champion, mc({ version: 2, labels: 4000, accuracy: 0.7 }), { ...criteria, maxAccuracyDrop: 0.05 }).verdict).toBe(
      'pass',
    );
    expect(judgeStep(mc({ labels: 60, accuracy: 0.75 }), mc({ version: 2, labels: 60, accuracy: 0.68 }), criteria).verdict).toBe('pass');
    expect(
      judgeStep(mc({ labels: 40, accuracy: 0.9 }), mc({ version: 2, labels: 40, accuracy: 0.1 }), criteria).checks.at(-1),
    ).toMatchObject({
      name: 'onlineAccuracy',
      ok: null,
    });
  });

  it('fails a challenger that predicts another class mix (PSI over class names)', () => {
    const j = judgeStep(mc(), mc({ version: 2, classCounts: { fog: 400, snow: 100 } }), criteria);
    expect(j).toMatchObject({
      verdict: 'fail',
      reasons: [expect.stringMatching(/^predictionShift: PSI of predicted-class distributions/)],
    });
    expect(j.predictionShift!).toBeGreaterThan(1);
  });
});

describe('judgeStep, regression', () => {
  const edges = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const rg = (over: Partial<ArmStats> = {}) => arm({ task: 'regression', valueEdges: edges, ...over });

  it('passes an equal RMSE and fails one more than 10% higher beyond the noise', () => {
    const champion = rg({ labels: 2000, rmse: 2, mseStdError: 0.1 });
    const same = judgeStep(champion, rg({ version: 2, labels: 2000, rmse: 2.05, mseStdError: 0.1 }), criteria);
    expect(same.verdict).toBe('pass');
    expect(names(same)).toContain('onlineRmse:true');
    const worse = judgeStep(champion, rg({ version: 2, labels: 2000, rmse: 2.5, mseStdError: 0.12 }), criteria);
    expect(worse).toMatchObject({
      verdict: 'fail',
      reasons: [expect.stringMatching(/^onlineRmse: online RMSE challenger 2\.500 vs champion 2\.000/)],
    });
    expect(
      judgeStep(champion, rg({ version: 2, labels: 2000, rmse: 2.5, mseStdError: 0.12 }), { ...criteria, maxRmseIncrease: 0.3 }).verdict,
    ).toBe('pass');
  });

  it('fails values that moved to other bins; does not compare histograms on different edges', () => {
    const moved = new Array<number>(SCORE_BINS).fill(0);
    moved[9] = 500;
    expect(judgeStep(rg(), rg({ version: 2, scoreHistogram: moved }), criteria)).toMatchObject({
      verdict: 'fail',
      reasons: [expect.stringMatching(/^predictionShift: PSI of value distributions/)],
    });
    const other = judgeStep(rg(), rg({ version: 2, scoreHistogram: moved, valueEdges: [0, 1] }), criteria);
    expect(other.verdict).toBe('pass');
    expect(other.predictionShift).toBeNull();
  });
});

describe('reading the arms from the prediction log', () => {
  let dir: string;
  let db: PGliteDatabase;
  let store: LocalArtifactStore;
  let registry: BuiltinRegistry;
  const since = new Date(Date.now() - 60_000).toISOString();
  const until = () => new Date(Date.now() + 60_000).toISOString();
  const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;

  async function version(model: string, task: Task): Promise<number> {
    const fitted = {
      format: 'flywheel.tabular-features/v1',
      spec: { features: [{ name: 'x', kind: 'numeric' }] },
      state: [{ kind: 'numeric', impute: 0, center: 0, scale: 1 }],
      task,
      fittedOn: 'test',
      rows: 1,
    };
    const uri = (await putJson(store, `${model}/${task.kind}-${Math.random()}.json`, fitted)).uri;
    const v = await registry.createVersion({
      model,
      runId: `run-${Math.random()}`,
      artifactUri: 'file:///nowhere/model.onnx',
      lineage: { datasetVersion: 'd', featureSpecHash: 'h', params: {} },
      tags: { [FEATURE_SPEC_TAG]: uri },
    });
    return v.version;
  }

  /** Logs predictions (output, class) with feedback (label, class) for one arm. */
  async function log(
    model: string,
    v: number,
    rows: Array<{ output: number; outputClass?: string; label?: number; labelClass?: string }>,
  ): Promise<void> {
    for (const [i, r] of rows.entries()) {
      const id = `${model}-${v}-${i}`;
      await db.query(
        `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, features, output, output_class, latency_ms, created_at)
         VALUES ($1, 0, $2, $3, false, '{}'::jsonb, $4, $5, 1, now())`,
        [id, model, v, r.output, r.outputClass ?? null],
      );
      if (r.label !== undefined || r.labelClass !== undefined)
        await db.query(`INSERT INTO prediction_feedback (request_id, instance, label, label_class, key_id) VALUES ($1, 0, $2, $3, 'k')`, [
          id,
          r.label ?? null,
          r.labelClass ?? null,
        ]);
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-rollout-'));
    db = await PGliteDatabase.create(join(dir, 'db'));
    await migrate(db);
    registry = new BuiltinRegistry(db);
    store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('multiclass: predicted classes and accuracy from label_class; the activity fails a worse challenger', async () => {
    const task: Task = { kind: 'multiclass', classes: ['fog', 'rain', 'sun'] };
    const champion = await version('mc', task);
    const challenger = await version('mc', task);
    const truth = Array.from({ length: 120 }, (_, i) => ['sun', 'rain', 'fog'][i % 3]!);
    await log(
      'mc',
      champion,
      truth.map((c, i) => ({ output: 0.8, outputClass: i % 10 === 0 ? 'sun' : c, labelClass: c })),
    );
    await log(
      'mc',
      challenger,
      truth.map((c) => ({ output: 0.6, outputClass: 'sun', labelClass: c })),
    );
    const stats = await readArmStats(db, { model: 'mc', version: champion, shadow: false, since, until: until() }, { task: 'multiclass' });
    expect(stats).toMatchObject({ task: 'multiclass', samples: 120, labels: 120, classCounts: { sun: 48, rain: 36, fog: 36 } });
    expect(stats.accuracy).toBeCloseTo(112 / 120, 9);

    const activities = createRolloutActivities({ db, registry, store, logger: silent, serving: () => undefined });
    const step = await activities.analyzeRolloutStep({
      model: 'mc',
      champion,
      challenger,
      shadow: false,
      championShadow: false,
      since,
      criteria: { ...criteria, maxPredictionShift: 100 },
    });
    expect(step.challenger).toMatchObject({ task: 'multiclass', accuracy: expect.closeTo(1 / 3, 9) as number });
    expect(step).toMatchObject({ verdict: 'fail', reasons: [expect.stringMatching(/^onlineAccuracy: /)] });
  });

  it('regression: RMSE from numeric labels, values binned on the champion deciles; the activity passes an equal challenger', async () => {
    const task: Task = { kind: 'regression' };
    const champion = await version('rg', task);
    const challenger = await version('rg', task);
    const values = Array.from({ length: 200 }, (_, i) => i / 10);
    await log(
      'rg',
      champion,
      values.map((v, i) => ({ output: v + (i % 2 === 0 ? 1 : -1), label: v })),
    );
    await log(
      'rg',
      challenger,
      values.map((v, i) => ({ output: v + (i % 2 === 0 ? -1 : 1), label: v })),
    );
    const q = { model: 'rg', version: champion, shadow: false, since, until: until() };
    const edges = await readValueEdges(db, q);
    expect(edges).toHaveLength(SCORE_BINS - 1);
    const stats = await readArmStats(db, q, { task: 'regression', valueEdges: edges });
    expect(stats).toMatchObject({ task: 'regression', labels: 200, valueEdges: edges });
    expect(stats.rmse).toBeCloseTo(1, 5);
    expect(stats.scoreHistogram.reduce((a, b) => a + b, 0)).toBe(200);
    expect(Math.max(...stats.scoreHistogram)).toBeLessThanOrEqual(21); // equal-mass bins

    const activities = createRolloutActivities({ db, registry, store, logger: silent, serving: () => undefined });
    const step = await activities.analyzeRolloutStep({
      model: 'rg',
      champion,
      challenger,
      shadow: false,
      championShadow: false,
      since,
      criteria,
    });
    expect(step.verdict).toBe('pass');
    expect(step.checks.map((c) => c.name)).toEqual(['samples', 'errorRate', 'p99Latency', 'predictionShift', 'onlineRmse']);
    expect(step.challenger.rmse).toBeCloseTo(1, 5);

    // Predictions 30% off the mark: the RMSE check fails.
    const bad = await version('rg', task);
    await log(
      'rg',
      bad,
      values.map((v, i) => ({ output: v + (i % 2 === 0 ? 1.3 : -1.3), label: v })),
    );
    const failed = await activities.analyzeRolloutStep({
      model: 'rg',
      champion,
      challenger: bad,
      shadow: false,
      championShadow: false,
      since,
      criteria,
    });
    expect(failed).toMatchObject({ verdict: 'fail', reasons: [expect.stringMatching(/^onlineRmse: /)] });
  });
});
