// The prediction log when the database misbehaves: requests never wait on it, entries are kept
// (bounded) and retried, overflow is dropped and counted, and writes resume on recovery.
import { describe, expect, it } from 'vitest';
import type { Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { PredictionLog, type PredictionLogEntry } from '../../serving/prediction-log.ts';

function flakyDb() {
  const state = { down: true, rows: 0, calls: 0 };
  const db = {
    kind: 'postgres',
    query: async (_sql: string, params?: readonly unknown[]) => {
      state.calls++;
      if (state.down) throw new Error('connect ECONNREFUSED');
      const n = (params?.[0] as unknown[]).length;
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
    const log = new PredictionLog(db, createLogger({ level: 'silent' }), { maxBuffer: 100, batchSize: 30, flushIntervalMs: 60_000, onDropped: (n) => (dropped += n) });
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
