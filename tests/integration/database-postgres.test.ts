// The database contract against a real PostgreSQL server: a fresh database per test.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
import { PostgresDatabase } from '../../lib/db/index.ts';
import { describeDatabaseContract } from '../contract/database.contract.ts';
import { getInfra } from './infra.ts';

const infra = getInfra();
const created: string[] = [];

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: infra.databaseUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

afterAll(async () => {
  await admin(async (c) => {
    for (const name of created) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
});

describeDatabaseContract('PostgreSQL', async () => {
  const name = `flywheel_contract_${randomBytes(5).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  created.push(name);
  const url = new URL(infra.databaseUrl);
  url.pathname = `/${name}`;
  return PostgresDatabase.create(url.toString());
});
