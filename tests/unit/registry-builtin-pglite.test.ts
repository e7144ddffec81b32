import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { describeRegistryContract } from '../contract/registry.contract.ts';

let db: PGliteDatabase;
beforeAll(async () => {
  db = await PGliteDatabase.create(await mkdtemp(join(tmpdir(), 'flywheel-registry-')));
  await migrate(db);
});
afterAll(async () => db.close());

describeRegistryContract('built-in on PGlite', async () => new BuiltinRegistry(db));
