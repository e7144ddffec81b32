// One small query interface over PostgreSQL (`pg`) and embedded PGlite: the same SQL runs on
// both, and values come back in the same JS types (int8 → number, jsonb → object,
// timestamptz → Date, numeric → string, bytea → Uint8Array).

export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  /** Rows returned, or affected by INSERT/UPDATE/DELETE. */
  rowCount: number;
}

export interface Queryable {
  /** One statement, with $1… parameters. */
  query<R extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Bulk-loads CSV rows (no header) into `table (columns…)` with COPY, not row inserts.
   * Returns the number of rows loaded. */
  copyFromCsv(table: string, columns: readonly string[], csv: string | Uint8Array): Promise<number>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
