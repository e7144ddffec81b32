// The bench's PostgreSQL: started through infra.sh like the tests do; the bench works in a
// throwaway database it creates and drops with plain SQL.
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { root } from './servers.ts';

export function infraDatabaseUrl(): string {
  const up = spawnSync('bash', ['infra/scripts/infra.sh', 'up', 'postgres'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (up.status !== 0) throw new Error('infra.sh up postgres failed');
  const out = spawnSync('bash', ['infra/scripts/infra.sh', 'env'], { cwd: root, encoding: 'utf8' }).stdout;
  const url = /^export DATABASE_URL=(.*)$/m.exec(out)?.[1];
  if (!url) throw new Error('infra.sh env printed no DATABASE_URL');
  return url;
}

export async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
