// Looks at a table once in DuckDB and summarises each column — its type, nulls, distinct values,
// range, spread and skew — which is all `flywheel init` needs to propose specs for it.
import type { Duck } from '../data/duck.ts';
import { sqlIdent } from '../data/duck.ts';
import { logicalType } from '../data/validation/engine.ts';
import type { ColumnType } from '../data/validation/spec.ts';

/** What a column holds, as the proposals see it. */
export type ColumnKind = ColumnType | 'other';

export interface ColumnSummary {
  name: string;
  /** The DuckDB type, e.g. `DOUBLE`, `VARCHAR`, `TIMESTAMP`. */
  duckType: string;
  kind: ColumnKind;
  nulls: number;
  /** Exact count of distinct non-null values. */
  distinct: number;
  /** Numbers: the values; timestamps: ISO text of the naive time (`2012-01-01T06:00:00`, or
   * `2012-01-01` for a DATE). */
  min: number | string | null;
  max: number | string | null;
  /** Numbers only: mean, population standard deviation and skewness of the non-null values. */
  mean: number | null;
  std: number | null;
  skewness: number | null;
  /** Timestamps only: some value has a time of day other than midnight. */
  hasTimeOfDay: boolean;
}

export interface TableSummary {
  rows: number;
  columns: ColumnSummary[];
  /** The first row, values as text (null stays null): the example instance of a predict call. */
  firstRow: Record<string, string | null>;
}

function isNumeric(kind: ColumnKind): boolean {
  return kind === 'integer' || kind === 'float';
}

function statsSelect(c: { name: string; kind: ColumnKind; duckType: string }, i: number): string[] {
  const x = sqlIdent(c.name);
  const parts = [`count(${x})::BIGINT AS nn_${i}`, `count(DISTINCT ${x})::BIGINT AS nd_${i}`];
  if (isNumeric(c.kind)) {
    parts.push(
      `min(${x})::DOUBLE AS lo_${i}`,
      `max(${x})::DOUBLE AS hi_${i}`,
      `avg(${x}::DOUBLE) AS mean_${i}`,
      `stddev_pop(${x}::DOUBLE) AS std_${i}`,
      `skewness(${x}::DOUBLE) AS skew_${i}`,
    );
  } else if (c.kind === 'timestamp') {
    const format = c.duckType.toUpperCase() === 'DATE' ? '%Y-%m-%d' : '%Y-%m-%dT%H:%M:%S';
    parts.push(`strftime(min(${x}), '${format}') AS lo_${i}`, `strftime(max(${x}), '${format}') AS hi_${i}`);
    // A DATE has no time of day; a TIMESTAMP column of midnights is a date written long-hand
    // (hour/minute/second rather than a TIME cast, which a zoned timestamp does not take).
    const clock = `hour(${x}) <> 0 OR minute(${x}) <> 0 OR second(${x}) <> 0`;
    parts.push(c.duckType.toUpperCase() === 'DATE' ? `false AS tod_${i}` : `coalesce(bool_or(${clock}), false) AS tod_${i}`);
  }
  return parts;
}

function finite(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** One aggregate scan for every column's statistics, and the first row. */
export async function inspectTable(duck: Duck, from: string, signal?: AbortSignal): Promise<TableSummary> {
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const cols = described.map((d) => ({ name: d.column_name, duckType: d.column_type, kind: logicalType(d.column_type) }));
  const select = ['count(*)::BIGINT AS n', ...cols.flatMap((c, i) => (c.kind === 'other' ? [] : statsSelect(c, i)))];
  const [row = {}] = await duck.all(`SELECT ${select.join(', ')} FROM ${from}`, signal);
  const rows = Number(row.n ?? 0);
  const columns = cols.map((c, i): ColumnSummary => {
    const nonNull = c.kind === 'other' ? rows : Number(row[`nn_${i}`] ?? 0);
    const numeric = isNumeric(c.kind);
    const bound = (key: string) => {
      const v = row[`${key}_${i}`];
      return numeric ? finite(v) : typeof v === 'string' ? v : null;
    };
    return {
      ...c,
      nulls: rows - nonNull,
      distinct: c.kind === 'other' ? 0 : Number(row[`nd_${i}`] ?? 0),
      min: bound('lo'),
      max: bound('hi'),
      mean: numeric ? finite(row[`mean_${i}`]) : null,
      std: numeric ? finite(row[`std_${i}`]) : null,
      skewness: numeric ? finite(row[`skew_${i}`]) : null,
      hasTimeOfDay: c.kind === 'timestamp' && row[`tod_${i}`] === true,
    };
  });
  const firstRow = await readFirstRow(duck, from, columns, signal);
  return { rows, columns, firstRow };
}

async function readFirstRow(duck: Duck, from: string, columns: readonly ColumnSummary[], signal?: AbortSignal) {
  if (columns.length === 0) return {};
  // Timestamps as a request writes them: naive ISO text (docs/features.md, datetime).
  const select = columns.map((c, i) => {
    const x = sqlIdent(c.name);
    const text = c.kind === 'timestamp' ? `strftime(${x}, '${c.hasTimeOfDay ? '%Y-%m-%dT%H:%M:%S' : '%Y-%m-%d'}')` : `${x}::VARCHAR`;
    return `${text} AS c_${i}`;
  });
  const [first] = await duck.all(`SELECT ${select.join(', ')} FROM ${from} LIMIT 1`, signal);
  const out: Record<string, string | null> = {};
  columns.forEach((c, i) => {
    const v = first?.[`c_${i}`];
    out[c.name] = typeof v === 'string' ? v : null;
  });
  return out;
}

/** The distinct non-null values of a column as text, most frequent first (at most `limit`). */
export async function topValues(duck: Duck, from: string, column: string, limit: number, signal?: AbortSignal) {
  const x = sqlIdent(column);
  const rows = await duck.all<{ v: string; c: number }>(
    `SELECT ${x}::VARCHAR AS v, count(*)::BIGINT AS c FROM ${from} WHERE ${x} IS NOT NULL GROUP BY 1 ORDER BY c DESC, v ASC LIMIT ${limit}`,
    signal,
  );
  return rows.map((r) => ({ value: r.v, count: Number(r.c) }));
}
