// Rows of a Parquet or CSV file replayed as traffic: the served model's input columns become the
// instance (timestamps written as naive ISO text, numbers as numbers, categories as text), one
// column is the label. DuckDB holds the sorted table (columnar, compact); JavaScript holds one chunk.
import { Duck, sqlIdent, sqlString } from '../data/duck.ts';
import { TrafficReplayError } from './errors.ts';
import type { ReplayInput, ReplayRow } from './source.ts';

export interface TableRowsOptions {
  /** The model's input columns (from its schema route): each must be a column of the file. */
  inputs: readonly ReplayInput[];
  /** The column holding the true outcome; rows where it is null are skipped. */
  label: string;
  /** The column whose value is the routing key. @default the row's position in the replay */
  key?: string;
  /** Replay in this column's order (a time column), ties by file order. @default file order */
  orderBy?: string;
  /** Stop after this many rows (the first ones). */
  limit?: number;
  /** A seeded random sample of this many rows, still in order. */
  sample?: number;
  /** Rows per DuckDB read. @default 5000 */
  chunkRows?: number;
  signal?: AbortSignal;
}

/** `read_parquet(…)` or `read_csv(…)` for the path, by its extension. */
export function tableScan(path: string): string {
  if (/\.parquet$/i.test(path)) return `read_parquet(${sqlString(path)})`;
  if (/\.(csv|tsv|txt)(\.gz)?$/i.test(path)) return `read_csv(${sqlString(path)}, header = true)`;
  throw new TrafficReplayError('invalid', `cannot tell the format of ${path}: name a .parquet or .csv file`);
}

/** The SELECT expression that turns a column into what a request carries for `kind`. */
function valueOf(column: string, kind: string): string {
  const c = sqlIdent(column);
  switch (kind) {
    case 'number':
      return `TRY_CAST(${c} AS DOUBLE)`;
    case 'string':
      return `CAST(${c} AS VARCHAR)`;
    case 'boolean':
      return `TRY_CAST(${c} AS BOOLEAN)`;
    case 'timestamp':
      // Naive text, as the server parses it; a DATE column becomes midnight.
      return `strftime(TRY_CAST(${c} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S')`;
    default:
      return c; // vector[n]: a list of numbers passes as an array
  }
}

/** The label as feedback carries it: a number stays a number, anything else is its text. */
function labelOf(value: unknown): number | string {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return String(value);
}

/** The file's rows in order. Throws a `TrafficReplayError` (`invalid`) naming the columns the
 * file lacks. */
export async function* tableRows(path: string, options: TableRowsOptions): AsyncGenerator<ReplayRow> {
  const chunkRows = options.chunkRows ?? 5000;
  const duck = await Duck.create();
  try {
    const scan = tableScan(path);
    const described = await duck.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${scan}`, options.signal).catch((err: unknown) => {
      throw new TrafficReplayError('invalid', `cannot read ${path}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    });
    const have = new Set(described.map((d) => d.column_name));
    const wanted = [...options.inputs.map((i) => i.name), options.label, options.key, options.orderBy].filter(
      (c): c is string => c !== undefined,
    );
    const missing = [...new Set(wanted.filter((c) => !have.has(c)))];
    if (missing.length)
      throw new TrafficReplayError('invalid', `${path} has no column ${missing.join(', ')} (it has ${[...have].join(', ')})`);
    const select = options.inputs.map((i, j) => `${valueOf(i.name, i.kind)} AS ${sqlIdent(`i${j}`)}`);
    const order = options.orderBy ? `${sqlIdent(options.orderBy)}, file_row` : 'file_row';
    await duck.run(
      `CREATE TABLE replay AS
       SELECT row_number() OVER (ORDER BY ${order})::BIGINT AS rn, ${[...select, `${sqlIdent(options.label)} AS label`, `${options.key ? `CAST(${sqlIdent(options.key)} AS VARCHAR)` : 'NULL'} AS key`].join(', ')}
       FROM (SELECT * FROM (SELECT *, row_number() OVER () AS file_row FROM ${scan}) WHERE ${sqlIdent(options.label)} IS NOT NULL)
       ${
         // Sampled after the rows are numbered and filtered: a sample in the inner FROM would be taken
         // before WHERE (fewer rows than asked) and number rows in reservoir order, not file order.
         options.sample !== undefined ? `USING SAMPLE ${Math.floor(options.sample)} ROWS (reservoir, 42)` : ''
       }`,
      options.signal,
    );
    const [{ n } = { n: 0 }] = await duck.all<{ n: number }>('SELECT count(*)::BIGINT AS n FROM replay');
    const total = Math.min(n, options.limit ?? n);
    for (let from = 0; from < total; from += chunkRows) {
      const to = Math.min(total, from + chunkRows);
      const rows = await duck.all(`SELECT * FROM replay WHERE rn > ${from} AND rn <= ${to} ORDER BY rn`, options.signal);
      for (const r of rows) {
        const instance: Record<string, unknown> = {};
        options.inputs.forEach((input, j) => (instance[input.name] = r[`i${j}`] ?? null));
        yield { instance, key: r.key === null || r.key === undefined ? `row-${String(r.rn)}` : String(r.key), label: labelOf(r.label) };
      }
    }
  } finally {
    duck.close();
  }
}
