// The database contract against a real PostgreSQL server: a fresh database per test.
import { afterAll } from 'vitest';
import { PostgresDatabase } from '../../lib/db/index.ts';
import { describeDatabaseContract } from '../contract/database.contract.ts';
import { getInfra } from './infra.ts';
import { createPrivateDatabase, type PrivateDatabase } from './private-database.ts';

const infra = getInfra();
const created: PrivateDatabase[] = [];

afterAll(async () => {
  for (const database of created) await database.drop();
});

describeDatabaseContract('PostgreSQL', async () => {
  const database = await createPrivateDatabase(infra.databaseUrl, 'flywheel_contract');
  created.push(database);
  return PostgresDatabase.create(database.url);
});
