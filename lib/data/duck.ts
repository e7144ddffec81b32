// DuckDB in process: the columnar engine for every scan of data (ingest, validation, profiles,
// features). Results come back as plain JS values (BIGINT → number, TIMESTAMP → Date), and long
// queries can be interrupted through an AbortSignal so cancellation reaches the engine.
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';

export type DuckRow = Record<string, unknown>;

export interface DuckOptions {
  /** Worker threads for DuckDB. @default 2 */
  threads?: number;
}

function toPlain(value: unknown): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
  return out;
}

/** Quotes a string as a SQL literal (file paths, category names). */
export function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Quotes an identifier (column names from user data). */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export class Duck {
  readonly #instance: DuckDBInstance;
  readonly #connection: DuckDBConnection;

  private constructor(instance: DuckDBInstance, connection: DuckDBConnection) {
    this.#instance = instance;
    this.#connection = connection;
  }

  static async create(options: DuckOptions = {}): Promise<Duck> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(options.threads ?? 2) });
    return new Duck(instance, await instance.connect());
  }

  /** Runs one query and returns its rows as plain objects. */
  async all<T extends DuckRow = DuckRow>(sql: string, signal?: AbortSignal): Promise<T[]> {
    return this.#interruptible(signal, async () => {
      const reader = await this.#connection.runAndReadAll(sql);
      return reader.getRowObjectsJS().map((r) => toPlain(r) as T);
    });
  }

  /** Runs one query and returns its columns as arrays (numbers for numeric columns). */
  async columns(sql: string, signal?: AbortSignal): Promise<Record<string, unknown[]>> {
    return this.#interruptible(signal, async () => {
      const reader = await this.#connection.runAndReadAll(sql);
      const cols = reader.getColumnsObjectJS();
      // Only columns that hold BIGINTs or nested values need converting; plain ones pass as is.
      for (const [name, values] of Object.entries(cols)) {
        const sample = values.find((v) => v !== null && v !== undefined);
        if (typeof sample === 'bigint' || (typeof sample === 'object' && !(sample instanceof Date)))
          cols[name] = values.map(toPlain) as typeof values;
      }
      return cols as Record<string, unknown[]>;
    });
  }

  async run(sql: string, signal?: AbortSignal): Promise<void> {
    await this.#interruptible(signal, async () => {
      await this.#connection.run(sql);
    });
  }

  async #interruptible<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
    if (!signal) return fn();
    signal.throwIfAborted();
    const onAbort = () => this.#connection.interrupt();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await fn();
    } catch (err) {
      if (signal.aborted) throw signal.reason ?? err;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Bulk-loads columns into an existing table through DuckDB's appender (no SQL per row). */
  async appendRows(table: string, rows: number, append: (appender: DuckDBAppender, row: number) => void): Promise<void> {
    const appender = await this.#connection.createAppender(table);
    try {
      for (let i = 0; i < rows; i++) {
        append(appender, i);
        appender.endRow();
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
  }

  close(): void {
    this.#connection.closeSync();
    this.#instance.closeSync();
  }
}

/** Opens DuckDB for the duration of `fn`. */
export async function withDuck<T>(fn: (duck: Duck) => Promise<T>, options?: DuckOptions): Promise<T> {
  const duck = await Duck.create(options);
  try {
    return await fn(duck);
  } finally {
    duck.close();
  }
}
