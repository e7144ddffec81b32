// The prediction log when the database misbehaves: requests never wait on it, entries are kept
// (bounded) and retried, overflow is dropped and counted, and writes resume on recovery.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { migrate, PGliteDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { PredictionLog, type PredictionLogEntry } from '../../serving/prediction-log.ts';

function flakyDb() {
  const state = { down: true, rows: 0, calls: 0 };
  const db = {
    kind: 'postgres',
    query: async (_sql: string, params?: readonly unknown[]) => {
      state.calls++;
      if (state.down) throw new Error('connect ECONNREFUSED');
      const n = (JSON.parse(params?.[0] as string) as unknown[]).length; // the batch is one JSON parameter
      state.rows += n;
      return { rows: [], rowCount: n };
    },
  } as unknown as Database;
  return { db, state };
}

const entry = (i: number): PredictionLogEntry => ({
  requestId: `r${i}`,
  instance: 0,
  model: 'm',
  version: 1,
  shadow: false,
  routingKey: undefined,
  features: { i },
  output: 0.5,
  latencyMs: 1,
  at: new Date(),
});

describe('PredictionLog', () => {
  it('buffers while the database is down, drops and counts past the bound, and writes everything it kept on recovery', async () => {
    const { db, state } = flakyDb();
    let dropped = 0;
    const log = new PredictionLog(db, createLogger({ level: 'silent' }), {
      maxBuffer: 100,
      batchSize: 30,
      flushIntervalMs: 60_000,
      onDropped: (n) => (dropped += n),
    });
    for (let i = 0; i < 150; i++) log.record(entry(i)); // never throws, never waits
    expect(log.buffered).toBe(100);
    expect(dropped).toBe(50);
    expect(log.dropped).toBe(50);
    await log.flush();
    expect(state.calls).toBe(1);
    expect(log.buffered).toBe(100); // nothing lost on failure
    state.down = false;
    await log.close(); // the last flush ignores the back-off
    expect(state.rows).toBe(100);
    expect(log.written).toBe(100);
    expect(log.buffered).toBe(0);
  });

  it('backs off after a failure instead of hammering the database', async () => {
    const { db, state } = flakyDb();
    const log = new PredictionLog(db, createLogger({ level: 'silent' }), { flushIntervalMs: 60_000 });
    log.record(entry(1));
    await log.flush();
    await log.flush();
    await log.flush();
    expect(state.calls).toBe(1);
    await log.close();
  });
});

describe('PredictionLog on a real database (PGlite)', () => {
  async function withDb(fn: (db: PGliteDatabase) => Promise<void>): Promise<void> {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-plog-'));
    const db = await PGliteDatabase.create(join(dir, 'db'));
    try {
      await migrate(db);
      await fn(db);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  }

  it('quarantines the rows the database refuses (NUL, lone surrogate) and writes every other row of the batch', async () => {
    await withDb(async (db) => {
      const dropped: string[] = [];
      const log = new PredictionLog(db, createLogger({ level: 'silent' }), {
        batchSize: 1000,
        flushIntervalMs: 60_000,
        onDropped: (_n, r) => dropped.push(r),
      });
      for (let i = 0; i < 50; i++) log.record(entry(i));
      log.record({ ...entry(50), features: { origin: 'A\u0000' } });
      log.record({ ...entry(51), routingKey: 'k\u0000' });
      log.record({ ...entry(52), features: { origin: '\ud800' } });
      for (let i = 53; i < 100; i++) log.record(entry(i));
      await log.flush();
      expect(log.state()).toMatchObject({ buffered: 0, written: 97, quarantined: 3, dropped: 0, consecutiveFailures: 0, lastError: null });
      expect((await db.query('SELECT count(*)::int AS n FROM prediction_log')).rows[0]).toEqual({ n: 97 });
      const q = await db.query<{ sqlstate: string; reason: string; entry: string }>(
        'SELECT sqlstate, reason, entry FROM prediction_log_quarantine ORDER BY id',
      );
      // A NUL in JSON text is refused as an escape (22P05), a lone surrogate as invalid JSON (22P02).
      expect(q.rows.map((r) => r.sqlstate)).toEqual(['22P05', '22P05', '22P02']);
      expect((JSON.parse(q.rows[0]!.entry) as PredictionLogEntry).features).toEqual({ origin: 'A\u0000' });
      expect((JSON.parse(q.rows[1]!.entry) as PredictionLogEntry).routingKey).toBe('k\u0000');
      // The writer is not stuck: later rows go straight through.
      log.record(entry(100));
      await log.close();
      expect(log.written).toBe(98);
      expect(dropped).toEqual([]);
    });
  }, 60_000);

  it('writes every field as recorded: NaN and infinite outputs, classes, routing keys, nested features, millisecond times', async () => {
    await withDb(async (db) => {
      const log = new PredictionLog(db, createLogger({ level: 'silent' }), { flushIntervalMs: 60_000 });
      const at = new Date('2026-11-30T12:34:56.789Z');
      const rows: PredictionLogEntry[] = [
        { ...entry(0), output: Number.NaN, at },
        { ...entry(1), output: Infinity, routingKey: 'user "7"\n', at },
        { ...entry(2), instance: 3, version: 2, shadow: true, output: 0.25, outputClass: 'late', latencyMs: 1.5, at },
        { ...entry(3), features: { date: '2001-03-04T13:45:00', origin: 'SFO', nested: [1, null, 'x'] }, output: -Infinity, at },
      ];
      for (const r of rows) log.record(r);
      await log.close();
      const { rows: got } = await db.query<Record<string, unknown>>(
        `SELECT request_id, instance, model, model_version, shadow, routing_key, features, output, latency_ms, created_at, output_class
         FROM prediction_log ORDER BY request_id`,
      );
      expect(
        got.map((r) => [r.request_id, r.instance, r.model_version, r.shadow, r.routing_key, r.output, r.latency_ms, r.output_class]),
      ).toEqual([
        ['r0', 0, 1, false, null, Number.NaN, 1, null],
        ['r1', 0, 1, false, 'user "7"\n', Infinity, 1, null],
        ['r2', 3, 2, true, null, 0.25, 1.5, 'late'],
        ['r3', 0, 1, false, null, -Infinity, 1, null],
      ]);
      expect(got[3]!.features).toEqual({ date: '2001-03-04T13:45:00', origin: 'SFO', nested: [1, null, 'x'] });
      for (const r of got) expect(new Date(r.created_at as string | Date).getTime()).toBe(at.getTime());
    });
  }, 60_000);

  it('counts what it could not write at shutdown as dropped (reason shutdown), never silently', async () => {
    const { db } = flakyDb(); // down for good
    const dropped: Array<[number, string]> = [];
    const log = new PredictionLog(db, createLogger({ level: 'silent' }), {
      flushIntervalMs: 60_000,
      onDropped: (n, r) => dropped.push([n, r]),
    });
    for (let i = 0; i < 7; i++) log.record(entry(i));
    await log.close();
    expect(dropped).toEqual([[7, 'shutdown']]);
    expect(log.state()).toMatchObject({ buffered: 0, written: 0, dropped: 7, consecutiveFailures: 1 });
    expect(log.state().lastError).toMatch(/ECONNREFUSED/);
  });
});
