// PostgreSQL at DATABASE_URL through a `pg` connection pool.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { checkSchemaName, searchPathOption } from './schema.ts';
import type { Database, Queryable, QueryResult, Row } from './types.ts';

const INT8_OID = 20;

export interface PostgresDatabaseOptions {
  /** @default 10 */
  maxConnections?: number;
  /** @default 'flywheel' */
  applicationName?: string;
  /** How long to wait for a connection (a new one, or a free one from the pool). @default 5000 */
  connectTimeoutMs?: number;
  /** Client-side deadline of one query; the connection is discarded when it passes, so a hung
   * server cannot hold the pool forever. Undefined: none (long batch writes need none). */
  queryTimeoutMs?: number;
  /** The schema every connection resolves names in (created if missing). @default 'public' */
  schema?: string;
}

// int8 as number matches PGlite; ids and counts here stay far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

function ident(n: string): string {
  return `"${n.replaceAll('"', '""')}"`;
}

async function copyFromCsv(client: pg.PoolClient, table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM STDIN WITH (FORMAT csv)`));
  await pipeline(Readable.from([typeof csv === 'string' ? Buffer.from(csv) : Buffer.from(csv)]), stream);
  return Number(stream.rowCount ?? 0);
}

function wrap<R extends Row>(res: pg.QueryResult<R>): QueryResult<R> {
  return { rows: res.rows, rowCount: res.rowCount ?? res.rows.length };
}

export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Connects and checks the connection with one round trip, so a bad URL fails here. */
  static async create(url: string, options: PostgresDatabaseOptions = {}): Promise<PostgresDatabase> {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'flywheel',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
      // On every pooled connection at start-up, so no query can run before it (unlike a SET).
      ...(options.schema !== undefined ? { options: searchPathOption(options.schema) } : {}),
      types,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
      if (options.schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${checkSchemaName(options.schema)}`);
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PostgresDatabase(pool);
  }

  async query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return wrap(await this.#pool.query<R>(sql, params as unknown[]));
  }

  async exec(sql: string): Promise<void> {
    await this.#pool.query(sql);
  }

  async copyFromCsv(table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
    const client = await this.#pool.connect();
    try {
      return await copyFromCsv(client, table, columns, csv);
    } finally {
      client.release();
    }
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const tx: Queryable = {
        query: async <R extends Row = Row>(sql: string, params: readonly unknown[] = []) =>
          wrap(await client.query<R>(sql, params as unknown[])),
        exec: async (sql: string) => {
          await client.query(sql);
        },
        copyFromCsv: (table, columns, csv) => copyFromCsv(client, table, columns, csv),
      };
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
