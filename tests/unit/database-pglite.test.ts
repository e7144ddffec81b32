import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGliteDatabase } from '../../lib/db/index.ts';
import { describeDatabaseContract } from '../contract/database.contract.ts';

// A fresh on-disk database per test, the way the embedded default runs.
describeDatabaseContract('PGlite', async () => PGliteDatabase.create(await mkdtemp(join(tmpdir(), 'flywheel-pglite-'))));
