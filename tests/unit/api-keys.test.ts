// API keys: shown once, stored only hashed, scoped, revocable; bad input gets a clear error.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyError, createApiKey, findApiKey, hashApiKey, listApiKeys, revokeApiKey } from '../../lib/auth/api-keys.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';

let dir: string;
let db: PGliteDatabase;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-keys-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
});

afterAll(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('API keys', () => {
  it('stores only the hash, finds the key by it, and stops finding it once revoked', async () => {
    const { key, info } = await createApiKey(db, { name: 'app', scopes: ['predict', 'admin', 'predict'], rateLimitRps: 5 });
    expect(key).toMatch(/^fw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(info.scopes).toEqual(['predict', 'admin']);
    const { rows } = await db.query<{ key_hash: string }>(`SELECT key_hash FROM api_keys WHERE id = $1`, [info.id]);
    expect(rows[0]!.key_hash).toBe(hashApiKey(key));
    expect(JSON.stringify(await db.query(`SELECT * FROM api_keys`))).not.toContain(key.slice(12));
    expect((await findApiKey(db, key))?.rateLimitRps).toBe(5);
    expect(await findApiKey(db, key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await findApiKey(db, 'not a key')).toBeUndefined();
    await revokeApiKey(db, info.id);
    expect(await findApiKey(db, key)).toBeUndefined();
    expect((await listApiKeys(db)).find((k) => k.id === info.id)?.revokedAt).toBeInstanceOf(Date);
  });

  it('refuses unknown scopes, no scopes, no name, a bad rate limit, and revoking a missing id', async () => {
    await expect(createApiKey(db, { name: 'x', scopes: ['root' as never] })).rejects.toThrow(
      'unknown scope "root"; scopes are predict, feedback, admin, events',
    );
    await expect(createApiKey(db, { name: 'x', scopes: [] })).rejects.toThrow(ApiKeyError);
    await expect(createApiKey(db, { name: ' ', scopes: ['predict'] })).rejects.toThrow('a key needs a name');
    await expect(createApiKey(db, { name: 'x', scopes: ['predict'], rateLimitRps: 0 })).rejects.toThrow(
      'rate limit must be a positive number',
    );
    await expect(revokeApiKey(db, 'deadbeef')).rejects.toThrow('no API key with id deadbeef');
  });
});
