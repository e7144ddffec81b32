// A database of a test's own on the shared PostgreSQL server: created empty, dropped (with its
// connections) when the test is done, so files never see each other's tables.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Runs `fn` with a plain client on `connectionString`, closed afterwards. */
export async function withPgClient<T>(connectionString: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface PrivateDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Creates `<prefix>_<random>` on the server of `serverUrl` (a URL of any of its databases). */
export async function createPrivateDatabase(serverUrl: string, prefix: string): Promise<PrivateDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  await withPgClient(serverUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => withPgClient(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
