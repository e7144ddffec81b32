// Bad data must never reach training silently. Each kind of bad input goes through the real
// ingest and validate activities and must fail with a non-retryable DataValidationFailed whose
// report names the offending column and numbers. Run against the local folder and the S3 store.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDataActivities } from '../../activities/data/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import type { ValidationReport } from '../../lib/data/validation/report.ts';
import { silentLogger } from '../../lib/log.ts';
import { getJson, type ArtifactStore } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';

const SLICE_ROWS = 20_000;
const ROOT = new URL('../../', import.meta.url);

/** Writes a variant of a January slice; `select` sees the slice as `s`. */
async function variant(dir: string, name: string, select: string): Promise<string> {
  const out = join(dir, `${name}.parquet`);
  await withDuck((duck) =>
    duck.run(`COPY (WITH s AS (SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE date < TIMESTAMP '2001-01-15' ORDER BY date LIMIT ${SLICE_ROWS})
              ${select}) TO '${out}' (FORMAT parquet)`),
  );
  return out;
}

export function describeDataValidationContract(
  name: string,
  setup: () => Promise<{ store: ArtifactStore; tmpDir: string; prefix: string }>,
): void {
  describe(`data validation: ${name}`, () => {
    let store: ArtifactStore;
    let tmpDir: string;
    let prefix: string;
    let referenceProfileUri: string;
    let spec: Record<string, unknown>;
    // The SDK logs every failed activity at WARN; these failures are the point of the tests.
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    // With the worker's interceptor: the activities throw DataValidationError, workers send DataValidationFailed.
    const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
    let acts: ReturnType<typeof createDataActivities>;
    const run = <A, R>(fn: (arg: A) => Promise<R>, arg: A): Promise<R> => env.run(fn, arg) as Promise<R>;

    async function upload(file: string, key: string): Promise<string> {
      return (await store.put(`${prefix}/${key}`, await readFile(file))).uri;
    }

    async function ingestAndValidate(file: string, label: string) {
      const uri = await upload(file, `raw/${label}.parquet`);
      const ingested = await run(acts.ingestDataset, { dataset: 'flights', sourceUris: [uri] });
      return run(acts.validateDataset, { manifestUri: ingested.manifestUri, validationSpec: spec, referenceProfileUri });
    }

    async function expectRejected(run: Promise<unknown>): Promise<ValidationReport> {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ApplicationFailure);
      const failure = err as ApplicationFailure;
      expect(failure.type).toBe('DataValidationFailed');
      expect(failure.nonRetryable).toBe(true);
      const details = failure.details?.[0] as { summary: string; reportUri: string };
      expect(details.summary).toBe(failure.message);
      const report = await getJson<ValidationReport>(store, store.keyFor(details.reportUri));
      expect(report.passed).toBe(false);
      expect(await store.exists(store.keyFor(details.reportUri).replace(/\.json$/, '.txt'))).toBe(true);
      return report;
    }

    beforeAll(async () => {
      ({ store, tmpDir, prefix } = await setup());
      acts = createDataActivities({ store, logger: silentLogger() });
      spec = (await loadValidationSpec(new URL('examples/flights/validation.yaml', ROOT).pathname)) as unknown as Record<string, unknown>;
      // Reference: the clean slice with 1% of delays missing (the "usual" null rate).
      const reference = await variant(
        tmpDir,
        'reference',
        `SELECT * REPLACE (CASE WHEN row_number() OVER () % 100 = 0 THEN NULL ELSE delay END AS delay) FROM s`,
      );
      const ingested = await run(acts.ingestDataset, {
        dataset: 'flights',
        sourceUris: [await upload(reference, 'raw/reference.parquet')],
      });
      referenceProfileUri = (await run(acts.profileDataset, { manifestUri: ingested.manifestUri })).profileUri;
    }, 120_000);

    it('passes clean data like the reference', async () => {
      const ok = await variant(
        tmpDir,
        'clean',
        `SELECT * REPLACE (CASE WHEN row_number() OVER () % 80 = 0 THEN NULL ELSE delay END AS delay) FROM s`,
      );
      const result = await ingestAndValidate(ok, 'clean');
      expect(result.summary).toMatch(/passed \(20000 rows/);
    });

    it('catches a missing (renamed) column', async () => {
      const file = await variant(tmpDir, 'renamed', `SELECT * RENAME (delay AS delay_minutes) FROM s`);
      const report = await expectRejected(ingestAndValidate(file, 'renamed'));
      const p = report.problems.find((x) => x.rule === 'missing_column');
      expect(p?.column).toBe('delay');
      expect(p?.message).toContain('delay_minutes');
    });

    it('catches a type change', async () => {
      const file = await variant(tmpDir, 'retyped', `SELECT * REPLACE (distance::VARCHAR AS distance) FROM s`);
      const report = await expectRejected(ingestAndValidate(file, 'retyped'));
      expect(report.problems.find((x) => x.rule === 'type')).toMatchObject({
        column: 'distance',
        observed: 'VARCHAR',
        expected: 'integer',
      });
    });

    it('catches 5× the usual nulls', async () => {
      const file = await variant(
        tmpDir,
        'nulls',
        `SELECT * REPLACE (CASE WHEN row_number() OVER () % 20 = 0 THEN NULL ELSE delay END AS delay) FROM s`,
      );
      const report = await expectRejected(ingestAndValidate(file, 'nulls'));
      const p = report.problems.find((x) => x.rule === 'null_ratio_vs_reference');
      expect(p?.column).toBe('delay');
      expect(p?.message).toMatch(/null ratio 5\.00% is 5× the reference 1\.00%/);
      expect(p?.message).toContain('1000 nulls');
    });

    it('catches values out of range', async () => {
      const file = await variant(
        tmpDir,
        'range',
        `SELECT * REPLACE (CASE WHEN row_number() OVER () <= 7 THEN 99999 ELSE distance END AS distance) FROM s`,
      );
      const report = await expectRejected(ingestAndValidate(file, 'range'));
      const p = report.problems.find((x) => x.rule === 'range');
      expect(p?.column).toBe('distance');
      expect(p?.message).toContain('7 values out of range [1, 6000]');
      expect(p?.message).toContain('max 99999');
    });

    it('catches a flood of unseen categories', async () => {
      const file = await variant(
        tmpDir,
        'flood',
        `SELECT * REPLACE (CASE WHEN row_number() OVER () % 10 < 3 THEN 'Q' || chr(65 + (row_number() OVER () % 26)::INTEGER) || 'Z' ELSE origin END AS origin) FROM s`,
      );
      const report = await expectRejected(ingestAndValidate(file, 'flood'));
      const p = report.problems.find((x) => x.rule === 'unseen_categories');
      expect(p?.column).toBe('origin');
      expect(p?.severity).toBe('error');
      expect(p?.message).toMatch(/covering 30\.00% of rows \(limit 5\.00%\)/);
    });

    it('catches an empty file', async () => {
      const file = await variant(tmpDir, 'empty', `SELECT * FROM s LIMIT 0`);
      const report = await expectRejected(ingestAndValidate(file, 'empty'));
      expect(report.problems[0]).toMatchObject({ rule: 'empty', observed: 0 });
    });

    it('catches a truncated Parquet file without crashing or hanging', async () => {
      const good = await variant(tmpDir, 'to-truncate', `SELECT * FROM s`);
      const bytes = await readFile(good);
      const cut = join(tmpDir, 'truncated.parquet');
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const uri = await upload(cut, 'raw/truncated.parquet');
      const report = await expectRejected(run(acts.ingestDataset, { dataset: 'flights', sourceUris: [uri] }));
      expect(report.problems[0]?.rule).toBe('unreadable');
      expect(report.problems[0]?.message).toContain('truncated.parquet');
    });

    it('catches a corrupt (non-Parquet) file and a zero-byte file', async () => {
      const junk = join(tmpDir, 'junk.parquet');
      await writeFile(junk, Buffer.from('this is not a parquet file, just text pretending'));
      const report = await expectRejected(
        run(acts.ingestDataset, { dataset: 'flights', sourceUris: [await upload(junk, 'raw/junk.parquet')] }),
      );
      expect(report.problems[0]?.rule).toBe('unreadable');
      const zero = join(tmpDir, 'zero.parquet');
      await writeFile(zero, Buffer.alloc(0));
      const zeroReport = await expectRejected(
        run(acts.ingestDataset, { dataset: 'flights', sourceUris: [await upload(zero, 'raw/zero.parquet')] }),
      );
      expect(zeroReport.problems[0]?.message).toContain('0 bytes');
    });

    it('re-ingesting the same partition yields the same version and writes no new objects', async () => {
      const file = await variant(tmpDir, 'again', `SELECT * FROM s`);
      const uri = await upload(file, 'raw/again.parquet');
      const first = await run(acts.ingestDataset, { dataset: 'flights', sourceUris: [uri] });
      const listAll = async () => {
        const out: string[] = [];
        for await (const o of store.list('datasets/')) out.push(`${o.key}@${o.lastModified.getTime()}`);
        return out.sort();
      };
      const before = await listAll();
      const second = await run(acts.ingestDataset, { dataset: 'flights', sourceUris: [uri] });
      expect(second).toEqual(first);
      expect(await listAll()).toEqual(before);
    });
  });
}
