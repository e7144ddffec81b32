// buildFeatures for any table and task: split files hold every source column plus `__label` typed
// per task, the fitted features carry the task (and a multiclass task's classes), outputs are keyed
// by the spec, and labels that cannot be targets fail with a stored report.
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { withDuck, type Duck } from '../../lib/data/duck.ts';
import { DataValidationError } from '../../lib/data/errors.ts';
import { buildFeaturesForVersion, requireModelColumns, type ModelColumns } from '../../lib/data/prepare.ts';
import { MAX_CLASSES } from '../../lib/data/table-features.ts';
import { parseFeatureSpec } from '../../lib/features/tabular/spec.ts';
import { FeatureSpecError } from '../../lib/features/tabular/spec.ts';
import { readFittedFeatures } from '../../lib/features/tabular/model-io.ts';
import { fittedFeaturesHash } from '../../lib/features/tabular/state.ts';
import { byoCsv, byoDataset, BYO_ROWS } from './helpers/byo-prepare-table.ts';

const features = parseFeatureSpec({
  features: [
    { name: 'hour', kind: 'datetime', column: 'when', parts: ['hour'] },
    { name: 'wind_scaled', kind: 'numeric', column: 'wind' },
    { name: 'city', kind: 'categorical' },
    { name: 'windy', kind: 'boolean' },
  ],
});

async function splitRows(duck: Duck, uri: string) {
  return duck.all<Record<string, unknown>>(`SELECT * FROM read_parquet('${fileURLToPath(uri)}')`);
}

describe('buildFeatures for any table', () => {
  it('binary: time-ordered splits, __label INTEGER 0/1, positives counted, task in the fitted features', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const columns: ModelColumns = { features, task: 'binary', label: 'late', time: 'when' };
      const out = await buildFeaturesForVersion(duck, store, manifest, columns);
      const { train, validation, test } = out.splits;
      expect(train.rows + validation.rows + test.rows).toBe(BYO_ROWS);
      expect(train.rows).toBe(28);
      expect(out.task).toEqual({ kind: 'binary' });
      const rows = await splitRows(duck, train.uri);
      expect(Object.keys(rows[0]!)).toEqual(['when', 'city', 'wind', 'windy', 'late', 'sky', 'temp', '__label']);
      expect(train.positives).toBe(rows.filter((r) => r.__label === 1).length);
      expect(train.positives).toBeGreaterThan(0);
      const [type] = await duck.all<{ t: string }>(`SELECT typeof(__label) AS t FROM read_parquet('${fileURLToPath(train.uri)}') LIMIT 1`);
      expect(type?.t).toBe('INTEGER');
      // Time order: every training row is no later than every validation row.
      const lastTrain = Math.max(...rows.map((r) => (r.when as Date).getTime()));
      const firstVal = Math.min(...(await splitRows(duck, validation.uri)).map((r) => (r.when as Date).getTime()));
      expect(lastTrain).toBeLessThan(firstVal);
      const fitted = await readFittedFeatures(store, out.featureSpecUri);
      expect(fitted.task).toEqual({ kind: 'binary' });
      expect(fitted.label).toBe('late');
      expect(fitted.rows).toBe(28);
      expect(out.featureSpecHash).toBe(fittedFeaturesHash(fitted));
      // Idempotent: a retry returns the stored summary.
      expect(await buildFeaturesForVersion(duck, store, manifest, columns)).toEqual(out);
    });
  });

  it('multiclass: __label VARCHAR, classes fitted on the training split', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const out = await buildFeaturesForVersion(duck, store, manifest, { features, task: 'multiclass', label: 'sky', time: 'when' });
      expect(out.task).toEqual({ kind: 'multiclass', classes: ['fog', 'rain', 'snow', 'sun'] });
      expect(out.splits.train.positives).toBe(0);
      const rows = await splitRows(duck, out.splits.test.uri);
      expect(rows.every((r) => typeof r.__label === 'string')).toBe(true);
      expect((await readFittedFeatures(store, out.featureSpecUri)).task).toEqual(out.task);
    });
  });

  it('regression with a label expression and no time column: a deterministic hash split', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const columns: ModelColumns = { features, task: 'regression', label: { expression: 'temp * 2' } };
      const out = await buildFeaturesForVersion(duck, store, manifest, columns);
      expect(out.task).toEqual({ kind: 'regression' });
      expect(out.cutoffs).toBeUndefined();
      const { train, validation, test } = out.splits;
      expect(train.rows + validation.rows + test.rows).toBe(BYO_ROWS);
      expect(train.rows).toBeGreaterThan(20);
      expect(validation.rows).toBeGreaterThan(0);
      expect(test.rows).toBeGreaterThan(0);
      const rows = await splitRows(duck, train.uri);
      expect(rows.every((r) => r.__label === (r.temp as number) * 2)).toBe(true);
      // The same data in another store splits the same way.
      const again = await byoDataset(duck);
      const out2 = await buildFeaturesForVersion(duck, again.store, again.manifest, columns);
      expect((await splitRows(duck, out2.splits.test.uri)).map((r) => r.when)).toEqual(
        (await splitRows(duck, test.uri)).map((r) => r.when),
      );
    });
  });

  it('keys outputs by the spec: two specs on one version do not share files', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const a = await buildFeaturesForVersion(duck, store, manifest, { features, label: 'late', time: 'when' });
      const fewer = parseFeatureSpec({ features: [{ name: 'wind', kind: 'numeric' }] });
      const b = await buildFeaturesForVersion(duck, store, manifest, { features: fewer, label: 'late', time: 'when' });
      expect(b.key).not.toBe(a.key);
      expect(b.featureSpecUri).not.toBe(a.featureSpecUri);
      expect(b.splits.train.uri).not.toBe(a.splits.train.uri);
      expect((await readFittedFeatures(store, a.featureSpecUri)).spec).toEqual(features);
    });
  });

  it('drops rows with no label', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(
        duck,
        byoCsv(BYO_ROWS, (c, i) => i % 10 === 3 && (c.late = '')),
      );
      const out = await buildFeaturesForVersion(duck, store, manifest, { features, label: 'late', time: 'when' });
      const { train, validation, test } = out.splits;
      expect(train.rows + validation.rows + test.rows).toBe(BYO_ROWS - 4);
    });
  });

  it('refuses binary labels other than 0/1 with a stored report', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const err = await buildFeaturesForVersion(duck, store, manifest, { features, label: 'wind', time: 'when' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataValidationError);
      expect((err as DataValidationError).message).toMatch(/labels are not 0\/1/);
      expect(await store.exists(store.keyFor((err as DataValidationError).reportUri!))).toBe(true);
    });
  });

  it('refuses a multiclass training split with one class, and a non-numeric regression label', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const one = await buildFeaturesForVersion(duck, store, manifest, {
        features,
        task: 'multiclass',
        label: { expression: "'x'" },
      }).catch((e: unknown) => e);
      expect(one).toBeInstanceOf(DataValidationError);
      expect((one as Error).message).toMatch(/training split has 1 class \(x\); multiclass needs at least 2/);
      const text = await buildFeaturesForVersion(duck, store, manifest, { features, task: 'regression', label: 'sky' }).catch(
        (e: unknown) => e,
      );
      expect(text).toBeInstanceOf(DataValidationError);
      expect((text as Error).message).toMatch(/labels are not a finite number/);
    });
  });

  it('refuses class names that cannot be answered or logged, and a label with too many values to be classes', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const nul = await buildFeaturesForVersion(duck, store, manifest, {
        features,
        task: 'multiclass',
        label: { expression: "CASE WHEN rowid % 2 = 0 THEN 'ok' ELSE 'bad' || chr(0) END" },
      }).catch((e: unknown) => e);
      expect(nul).toBeInstanceOf(DataValidationError);
      expect((nul as Error).message).toMatch(/contains a NUL character .*class names are answered and logged/);
      // A value per row: 1,600 rows give more than MAX_CLASSES distinct labels in the training split.
      const big = await byoDataset(duck, byoCsv(1600));
      const many = await buildFeaturesForVersion(duck, big.store, big.manifest, {
        features,
        task: 'multiclass',
        label: { expression: 'CAST(rowid AS VARCHAR)' },
      }).catch((e: unknown) => e);
      expect(many).toBeInstanceOf(DataValidationError);
      expect((many as Error).message).toMatch(
        new RegExp(`multiclass takes at most ${MAX_CLASSES} \\(is it a regression label or an ID\\?\\)`),
      );
    });
  });

  it('refuses an input from before the feature language', () => {
    expect(() => requireModelColumns({ label: 'late' })).toThrow(FeatureSpecError);
    expect(() => requireModelColumns({ features })).toThrow(/predates the feature spec language .*data\.label/);
    // What a lifecycle parsed before the feature language carries: the old built-in's `{kind}`.
    expect(() => requireModelColumns({ features: { kind: 'flights-v1' } as never, label: 'late' })).toThrow(FeatureSpecError);
  });

  it('validate and profile refuse such an input at once as InvalidConfig (non-retryable), not as a retried TypeError', async () => {
    const { store, manifest } = await withDuck((duck) => byoDataset(duck));
    const acts = createDataActivities({ store, logger: silentLogger() });
    const legacy = { manifestUri: manifest.manifestUri, features: { kind: 'flights-v1' } as never, label: { expression: 'late' } };
    const env = new MockActivityEnvironment(undefined, { interceptors: [flywheelActivityInterceptors] });
    for (const run of [
      () => env.run(acts.validateDataset, { ...legacy, validationSpec: { dataset: 'byo', columns: {} } }),
      () => env.run(acts.profileDataset, legacy),
    ]) {
      const err = (await run().catch((e: unknown) => e)) as ApplicationFailure;
      expect(err).toBeInstanceOf(ApplicationFailure);
      expect(err.type).toBe('InvalidConfig');
      expect(err.nonRetryable).toBe(true);
      expect(err.message).toMatch(/predates the feature spec language/);
    }
  });
});
