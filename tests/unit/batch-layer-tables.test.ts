// The batch layer's tables on embedded PostgreSQL (PGlite, the default database; the integration
// test runs the same SQL on a PostgreSQL server): a retried chunk replaces its rows, a short job
// is never published, lookups see the previous job until the pointer flips, and one read answers
// many keys.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFeatureJob, readFeatureRows, registerFeatureJob } from '../../lib/batch/feature-table.ts';
import { publishKeyedJob, readKeyedPredictions, registerKeyedJob } from '../../lib/batch/keyed-predictions.ts';
import { loadKeyedRows } from '../../lib/batch/keyed-rows.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';

let dir: string;
let db: PGliteDatabase;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-batch-layer-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const job = (jobId: string) => ({ jobId, model: 'm', modelVersion: 1, datasetUri: 'file:///d.parquet', keyColumn: 'id' });
const rows = (n: number, p: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `k,"${i}"`, json: JSON.stringify({ probability: p, version: 1 }) }));

describe('keyed batch predictions', () => {
  it('upserts a retried chunk, refuses a short job, and flips readers only on publish', async () => {
    await registerKeyedJob(db, job('j1'));
    expect(await loadKeyedRows(db, 'predictions', 'j1', rows(3, 0.25))).toBe(3);
    // The same chunk again (a retry): replaced, not duplicated.
    expect(await loadKeyedRows(db, 'predictions', 'j1', rows(3, 0.25))).toBe(3);
    await expect(publishKeyedJob(db, { jobId: 'j1', model: 'm', expectedRows: 4 })).rejects.toThrow(
      'job j1 has 3 keyed predictions loaded, expected 4: not publishing a partial run',
    );
    expect((await readKeyedPredictions(db, 'm', ['k,"0"'])).job).toBeUndefined();
    await publishKeyedJob(db, { jobId: 'j1', model: 'm', expectedRows: 3 });

    await registerKeyedJob(db, job('j2'));
    await loadKeyedRows(db, 'predictions', 'j2', rows(3, 0.75));
    const during = await readKeyedPredictions(db, 'm', ['k,"0"', 'k,"2"', 'absent']);
    expect(during.job?.jobId).toBe('j1');
    expect([...during.predictions.entries()]).toEqual([
      ['k,"0"', { probability: 0.25, version: 1 }],
      ['k,"2"', { probability: 0.25, version: 1 }],
    ]);
    await publishKeyedJob(db, { jobId: 'j2', model: 'm', expectedRows: 3 });
    const after = await readKeyedPredictions(db, 'm', ['k,"1"']);
    expect(after.job?.jobId).toBe('j2');
    expect(after.predictions.get('k,"1"')).toEqual({ probability: 0.75, version: 1 });
  });
});

describe('batch feature tables', () => {
  it('publishes a complete job and reads rows by key', async () => {
    await registerFeatureJob(db, { jobId: 'f1', table: 't', keyColumn: 'id', sourceUri: 'file:///f.csv', columns: ['a'] });
    await loadKeyedRows(db, 'features', 'f1', [
      { key: 'x', json: '{"a": 1}' },
      { key: 'y', json: '{"a": 2}' },
    ]);
    expect((await readFeatureRows(db, 't', ['x'])).rows.size).toBe(0);
    const at = await publishFeatureJob(db, { jobId: 'f1', table: 't', expectedRows: 2 });
    expect(at).toBeInstanceOf(Date);
    const read = await readFeatureRows(db, 't', ['x', 'y', 'z']);
    expect(read.jobId).toBe('f1');
    expect(Object.fromEntries(read.rows)).toEqual({ x: { a: 1 }, y: { a: 2 } });
  });
});
