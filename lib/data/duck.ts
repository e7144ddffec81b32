// DuckDB in process: the columnar engine for every scan of data (ingest, validation, profiles,
// features). Results come back as plain JS values (BIGINT → number, TIMESTAMP → Date), and long
// queries can be interrupted through an AbortSignal so cancellation reaches the engine.
import { DuckDBDataChunk, DuckDBFloatType, DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';

export type DuckRow = Record<string, unknown>;

/** A column read without a JS value per row (see Duck.typedColumns). */
export type TypedColumn = Float64Array | Float32Array | Int32Array;

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

  /**
   * Runs one query whose columns are all DOUBLE, FLOAT or INTEGER and never NULL (coalesce in
   * the SQL: a NULL's slot holds whatever the vector held) and returns each column as one typed
   * array, copied vector by vector: no JS value per row, unlike `columns`.
   */
  async typedColumns(sql: string, signal?: AbortSignal): Promise<Record<string, TypedColumn>> {
    return this.#interruptible(signal, async () => {
      const result = await this.#connection.run(sql);
      const names = result.columnNames();
      const rows = result.rowCount;
      const out: Record<string, TypedColumn> = {};
      let at = 0;
      for (let c = 0; c < result.chunkCount; c++) {
        const chunk = result.getChunk(c);
        for (let j = 0; j < names.length; j++) {
          // The vector classes keep their values in a typed array (`items`); read it whole.
          const vector = chunk.getColumnVector(j) as unknown as { items?: unknown };
          const items = vector.items;
          if (!(items instanceof Float64Array || items instanceof Float32Array || items instanceof Int32Array))
            throw new TypeError(`column ${names[j]} is ${chunk.getColumnVector(j).type.toString()}, not DOUBLE, FLOAT or INTEGER`);
          const name = names[j]!;
          let column = out[name];
          if (!column) {
            const Ctor = items.constructor as new (n: number) => TypedColumn;
            column = out[name] = new Ctor(rows);
          }
          column.set(items.subarray(0, chunk.rowCount), at);
        }
        at += chunk.rowCount;
      }
      for (const name of names) out[name] ??= new Float64Array(0);
      return out;
    });
  }

  /** Appends FLOAT columns (one typed array each, in the table's column order) vector by vector. */
  async appendFloatColumns(table: string, columns: readonly Float32Array[], rows: number): Promise<void> {
    const appender = await this.#connection.createAppender(table);
    try {
      const types = columns.map(() => DuckDBFloatType.instance);
      const size = 2048;
      for (let start = 0; start < rows; start += size) {
        const n = Math.min(size, rows - start);
        const chunk = DuckDBDataChunk.create(types, n);
        columns.forEach((col, j) => {
          const vector = chunk.getColumnVector(j) as unknown as { items: Float32Array; flush(): void };
          vector.items.set(col.subarray(start, start + n));
          vector.flush();
        });
        appender.appendDataChunk(chunk);
      }
      appender.flushSync();
    } finally {
      appender.closeSync();
    }
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
