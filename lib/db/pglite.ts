// Embedded PostgreSQL (PGlite, WASM) in a data folder: the zero-setup default. One process owns
// the folder at a time, so `flywheel dev` runs both workers in one process over one instance.
import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Database, Queryable, QueryResult, Row } from './types.ts';

function copySql(table: string, columns: readonly string[]): string {
  const ident = (n: string) => `"${n.replaceAll('"', '""')}"`;
  return `COPY ${ident(table)} (${columns.map(ident).join(', ')}) FROM '/dev/blob' WITH (FORMAT csv)`;
}

async function copyFromCsv(db: PGlite | Transaction, table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
  const blob = new Blob([typeof csv === 'string' ? csv : Buffer.from(csv)]);
  const res = await db.query(copySql(table, columns), [], { blob });
  return res.affectedRows ?? 0;
}

function queryable(db: PGlite | Transaction): Queryable {
  return {
    copyFromCsv: (table, columns, csv) => copyFromCsv(db, table, columns, csv),
    query: <R extends Row = Row>(sql: string, params: readonly unknown[] = []) => run<R>(db, sql, params),
    exec: async (sql: string) => {
      await db.exec(sql);
    },
  };
}

async function run<R extends Row>(db: PGlite | Transaction, sql: string, params: readonly unknown[]): Promise<QueryResult<R>> {
  const res = await db.query<R>(sql, params as unknown[]);
  return { rows: res.rows, rowCount: res.affectedRows || res.rows.length };
}

export class PGliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  readonly #db: PGlite;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  /** Opens (creating if needed) the database in `dataDir`; `memory://` keeps it in memory. */
  static async create(dataDir: string): Promise<PGliteDatabase> {
    if (!dataDir.startsWith('memory://')) await mkdir(dataDir, { recursive: true });
    const db = await PGlite.create({ dataDir });
    return new PGliteDatabase(db);
  }

  query<R extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
    return run<R>(this.#db, sql, params);
  }

  async exec(sql: string): Promise<void> {
    await this.#db.exec(sql);
  }

  copyFromCsv(table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number> {
    return copyFromCsv(this.#db, table, columns, csv);
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.#db.transaction((tx) => fn(queryable(tx)));
  }

  async close(): Promise<void> {
    if (!this.#db.closed) await this.#db.close();
  }
}
