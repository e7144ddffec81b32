// API keys verified from memory: a database outage does not stop known keys, a revocation
// applies at the next reload, and unknown keys cannot be turned into one database query each.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../lib/auth/api-keys.ts';
import { migrate, PGliteDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { KeyCache } from '../../serving/key-cache.ts';
import { RateLimiter } from '../../serving/rate-limit.ts';
import { ServingError } from '../../serving/errors.ts';

let dir: string;
let pg: PGliteDatabase;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-keys-'));
  pg = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(pg);
}, 60_000);

afterAll(async () => {
  await pg?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real database behind a switch: `down` makes every query fail; `queries` counts them. */
function switchable(db: Database) {
  const state = { down: false, queries: 0 };
  const wrapped = {
    ...db,
    query: (sql: string, params?: readonly unknown[]) => {
      state.queries++;
      return state.down ? Promise.reject(new Error('connect ECONNREFUSED')) : db.query(sql, params);
    },
  } as Database;
  return { db: wrapped, state };
}

function cacheOver(db: Database, now = Date.now) {
  return new KeyCache({ db, logger: createLogger({ level: 'silent' }), limiter: new RateLimiter(), refreshMs: 60_000, now });
}

describe('KeyCache', () => {
  it('verifies known keys from memory while the database is down, and applies a revocation at the next reload', async () => {
    const { key, info } = await createApiKey(pg, { name: 'app', scopes: ['predict'] });
    const { db, state } = switchable(pg);
    const cache = cacheOver(db);
    await cache.start();
    state.down = true;
    const before = state.queries;
    expect((await cache.verify(key, '10.0.0.1'))?.id).toBe(info.id);
    expect(state.queries).toBe(before); // no database round trip
    state.down = false;
    await revokeApiKey(pg, info.id);
    expect(await cache.reload()).toBe(true);
    expect(await cache.verify(key, '10.0.0.1')).toBeUndefined();
    cache.stop();
  });

  it('accepts a key created after the last reload (one lookup), and remembers an unknown key', async () => {
    const { db, state } = switchable(pg);
    const cache = cacheOver(db);
    await cache.start();
    const { key } = await createApiKey(pg, { name: 'new', scopes: ['predict'] });
    expect((await cache.verify(key, 'a'))?.name).toBe('new');
    const unknown = 'fw_00000000_' + 'x'.repeat(43);
    const q = state.queries;
    expect(await cache.verify(unknown, 'a')).toBeUndefined();
    expect(await cache.verify(unknown, 'a')).toBeUndefined();
    expect(state.queries).toBe(q + 1);
    cache.stop();
  });

  it('throttles lookups of unknown keys per source before any database query', async () => {
    const { db, state } = switchable(pg);
    const cache = cacheOver(db);
    await cache.start();
    const q = state.queries;
    const results: Array<number | undefined> = [];
    for (let i = 0; i < 30; i++) {
      const guess = `fw_${String(i).padStart(8, '0')}_${'y'.repeat(43)}`;
      results.push(
        await cache.verify(guess, '203.0.113.9').then(
          () => undefined,
          (e: unknown) => (e as ServingError).status,
        ),
      );
    }
    expect(state.queries - q).toBe(10); // the burst; the rest are refused before the database
    expect(results.filter((s) => s === 429)).toHaveLength(20);
    // Another client is not affected.
    expect(await cache.verify(`fw_99999999_${'z'.repeat(43)}`, '198.51.100.1')).toBeUndefined();
    cache.stop();
  });

  it('answers 503 (not 401) for a key it cannot check while the database is down', async () => {
    const { db, state } = switchable(pg);
    const cache = cacheOver(db);
    await cache.start();
    state.down = true;
    const err = await cache.verify(`fw_12345678_${'q'.repeat(43)}`, 'a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServingError);
    expect((err as ServingError).status).toBe(503);
    cache.stop();
  });

  it('stops trusting a snapshot older than maxStaleMs', async () => {
    const { key } = await createApiKey(pg, { name: 'stale', scopes: ['predict'] });
    let t = 1_000_000;
    const { db, state } = switchable(pg);
    const cache = new KeyCache({
      db,
      logger: createLogger({ level: 'silent' }),
      limiter: new RateLimiter(),
      refreshMs: 60_000,
      maxStaleMs: 5000,
      now: () => t,
    });
    await cache.start();
    state.down = true;
    t += 4000;
    expect((await cache.verify(key, 'a'))?.name).toBe('stale');
    t += 2000;
    await expect(cache.verify(key, 'a')).rejects.toMatchObject({ status: 503 });
    cache.stop();
  });
});
