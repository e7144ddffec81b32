// Labelled recent traffic as a training source: predictions logged by the server joined with their
// feedback labels (PGlite, the real schema), exported through the activity as one Parquet
// partition in the store, read back with DuckDB.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTrafficActivities,
  type ExportLabelledTrafficInput,
  type ExportLabelledTrafficResult,
} from '../../activities/traffic/index.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { parseModelSpec } from '../../lib/model-spec/model-spec.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const UNTIL = '2026-03-08T00:00:00.000Z';
let dir: string;
let db: PGliteDatabase;
let store: LocalArtifactStore;

/** One logged prediction, `hoursBefore` the window end, with an optional label. */
interface Logged {
  id: string;
  hoursBefore: number;
  distance: number;
  label?: number | string;
  model?: string;
  shadow?: boolean;
  keyId?: string | null;
}

async function log(rows: Logged[]): Promise<void> {
  for (const r of rows) {
    const at = new Date(Date.parse(UNTIL) - r.hoursBefore * 3_600_000).toISOString();
    const features = { origin: `O-${r.id}`, distance: r.distance, date: at.replace('.000Z', '') };
    await db.query(
      `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, features, output, latency_ms, created_at)
       VALUES ($1, 0, $2, 1, $3, $4, 0.5, 1, $5)`,
      [r.id, r.model ?? 'm', r.shadow ?? false, JSON.stringify(features), at],
    );
    if (r.label !== undefined)
      await db.query(`INSERT INTO prediction_feedback (request_id, instance, label, label_class, key_id) VALUES ($1, 0, $2, $3, $4)`, [
        r.id,
        typeof r.label === 'number' ? r.label : null,
        typeof r.label === 'string' ? r.label : null,
        r.keyId === undefined ? 'k1' : r.keyId,
      ]);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-traffic-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
  await log([
    { id: 'a', hoursBefore: 1, distance: 100, label: 1 },
    { id: 'b', hoursBefore: 2, distance: 200, label: 0 },
    { id: 'c', hoursBefore: 3, distance: 300 }, // no label yet
    { id: 'd', hoursBefore: 4, distance: 400, label: 1, keyId: null }, // a label from before attribution
    { id: 'e', hoursBefore: 5, distance: 500, label: 7 }, // not a binary label
    { id: 'f', hoursBefore: 6, distance: 600, label: 1, shadow: true }, // a shadow copy
    { id: 'g', hoursBefore: 7, distance: 700, label: 0, model: 'other' },
    { id: 'h', hoursBefore: 24 * 8, distance: 800, label: 1 }, // older than the 7-day window
    { id: 'i', hoursBefore: 0, distance: 900, label: 1 }, // at the window's end (exclusive)
    { id: 'j', hoursBefore: 30, distance: 1000, label: 0 },
  ]);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

async function exportTraffic(input: Partial<ExportLabelledTrafficInput> = {}): Promise<ExportLabelledTrafficResult> {
  const activities = createTrafficActivities({ db, store, logger: quiet as never });
  const env = new MockActivityEnvironment(undefined, { logger: quiet });
  return env.run(activities.exportLabelledTraffic, { model: 'm', dataset: 'flights', label: 'late', until: UNTIL, ...input });
}

async function readPartition(uri: string) {
  return withDuck(async (duck) => {
    const from = `read_parquet(${sqlString(fileURLToPath(uri))})`;
    const types = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`);
    const rows = await duck.all<Record<string, unknown>>(`SELECT * FROM ${from}`);
    return { types: Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), rows };
  });
}

describe('exportLabelledTraffic', () => {
  it('joins each labelled prediction of the model in the window with its label, oldest first', async () => {
    const out = await exportTraffic();
    expect(out).toMatchObject({ rows: 3, columns: ['date', 'distance', 'origin', 'late'] });
    expect(out.partition).toMatch(/^traffic-20260308T000000Z-[0-9a-f]{12}$/);
    expect(out.uris).toHaveLength(1);
    expect(store.keyFor(out.uris[0]!)).toBe(`traffic/flights/m/${out.partition}/part-0000.parquet`);
    const { types, rows } = await readPartition(out.uris[0]!);
    expect(types).toEqual({ date: 'TIMESTAMP', distance: 'DOUBLE', origin: 'VARCHAR', late: 'INTEGER' });
    // Unlabelled (c), unattributed (d), not a binary label (e), shadow (f), another model (g),
    // before the window (h) and at its end (i) are left out.
    expect(rows.map((r) => [r.origin, r.distance, r.late])).toEqual([
      ['O-j', 1000, 0],
      ['O-b', 200, 0],
      ['O-a', 100, 1],
    ]);
  });

  it('keeps the newest maxRows rows, and names the same query the same partition', async () => {
    const out = await exportTraffic({ maxRows: 2 });
    const { rows } = await readPartition(out.uris[0]!);
    expect(rows.map((r) => r.origin)).toEqual(['O-b', 'O-a']);
    expect((await exportTraffic({ maxRows: 2 })).uris).toEqual(out.uris);
    expect((await exportTraffic()).partition).not.toBe(out.partition);
  });

  it("holds the feature spec's input columns only, when given", async () => {
    const features = { features: [{ name: 'distance', kind: 'numeric' as const }] };
    const out = await exportTraffic({ features: features as never });
    expect(out.columns).toEqual(['distance', 'late']);
    expect((await readPartition(out.uris[0]!)).rows).toEqual([
      { distance: 1000, late: 0 },
      { distance: 200, late: 0 },
      { distance: 100, late: 1 },
    ]);
  });

  it('respects a window given by since, and writes nothing when no labelled row is in it', async () => {
    const recent = await exportTraffic({ window: '90m' });
    expect(recent.rows).toBe(1);
    const empty = await exportTraffic({ since: '2026-03-07T23:30:00.000Z' });
    expect(empty).toMatchObject({ rows: 0, uris: [] });
  });

  it("copies the columns, order and types of the dataset's partitions, NULL where traffic has none", async () => {
    const reference = join(dir, 'reference.parquet');
    await withDuck((duck) =>
      duck.run(
        `COPY (SELECT true AS late, 'X' AS origin, 20::INTEGER AS delay, 5::INTEGER AS distance, TIMESTAMP '2001-01-01 10:00:00' AS date) TO ${sqlString(reference)} (FORMAT parquet)`,
      ),
    );
    const typed = await exportTraffic({ schemaFrom: `file://${reference}` });
    expect(typed.columns).toEqual(['late', 'origin', 'delay', 'distance', 'date']);
    const { types, rows } = await readPartition(typed.uris[0]!);
    expect(Object.entries(types)).toEqual([
      ['late', 'BOOLEAN'],
      ['origin', 'VARCHAR'],
      ['delay', 'INTEGER'],
      ['distance', 'INTEGER'],
      ['date', 'TIMESTAMP'],
    ]);
    expect(rows.map((r) => [r.late, r.origin, r.delay, r.distance])).toEqual([
      [false, 'O-j', null, 1000],
      [false, 'O-b', null, 200],
      [true, 'O-a', null, 100],
    ]);
    // The reference and the traffic read as one table, as prepare-data reads partitions.
    const both = await withDuck((duck) =>
      duck.all<{ n: number }>(
        `SELECT count(*)::INTEGER AS n FROM read_parquet([${sqlString(reference)}, ${sqlString(fileURLToPath(typed.uris[0]!))}], hive_partitioning = false)`,
      ),
    );
    expect(both[0]!.n).toBe(4);
  });

  it('puts an expression label in __label, and fills a time column the instances lack', async () => {
    const expression = await exportTraffic({ label: { expression: 'delay > 15' } });
    expect(expression.columns.at(-1)).toBe('__label');
    // A time column the instances lack is the prediction's time.
    const timed = await exportTraffic({ time: 'logged_at' });
    expect(timed.columns).toEqual(['date', 'distance', 'origin', 'logged_at', 'late']);
    expect((await readPartition(timed.uris[0]!)).rows.map((r) => (r.logged_at as Date).toISOString())).toEqual([
      '2026-03-06T18:00:00.000Z',
      '2026-03-07T22:00:00.000Z',
      '2026-03-07T23:00:00.000Z',
    ]);
  });

  it('refuses a window that ends before it starts, permanently', async () => {
    const err = await exportTraffic({ since: '2026-03-09T00:00:00.000Z' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'InvalidConfig', nonRetryable: true });
  });
});

describe('data.traffic in the model spec', () => {
  const data = { dataset: 'd', label: 'y', validation: { dataset: 'd', columns: {} } };
  const features = { features: [{ name: 'x', kind: 'numeric' }] };

  it('is off unless a spec enables it, with a 7-day window and a row bound by default', () => {
    expect(parseModelSpec({ name: 'm', data, features }).data.traffic).toBeUndefined();
    expect(parseModelSpec({ name: 'm', data: { ...data, traffic: { enabled: true } }, features }).data.traffic).toEqual({
      enabled: true,
      window: '7d',
      maxRows: 100_000,
    });
    expect(() => parseModelSpec({ name: 'm', data: { ...data, traffic: { enabled: true, window: 'a week' } }, features })).toThrow(
      /data\.traffic\.window/,
    );
  });
});
