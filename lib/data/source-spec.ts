// The dataset source spec: where a table's rows come from (Parquet or CSV files on file:// or
// s3:// — one file, a glob or a prefix — or a PostgreSQL query), which column is the label and
// which the time, and how the table is cut into partitions. docs/data-sources.md has every knob.
import { z } from 'zod';
import { parseOrThrow } from '../zod-issues.ts';
import { firstLine, readSpecFile } from '../spec-file.ts';

export const SOURCE_FORMATS = ['parquet', 'csv'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export const TIME_PARTITIONS = ['day', 'week', 'month'] as const;
export type TimePartition = (typeof TIME_PARTITIONS)[number];

/** The environment variable that holds the connection string when a PostgreSQL source names none. */
export const DEFAULT_POSTGRES_URL_ENV = 'DATABASE_URL';

const column = z.string().min(1, 'a column name is not empty');

const csvOptions = z.strictObject({
  /** Field separator, one character (or a short string such as `||`). @default ',' */
  delimiter: z.string().min(1).max(4).default(','),
  /** Quote character. @default '"' */
  quote: z.string().length(1).default('"'),
  /** Escape character inside quotes (RFC 4180 doubles the quote). @default '"' */
  escape: z.string().length(1).default('"'),
  /** The first row names the columns. @default true */
  header: z.boolean().default(true),
  /** Strings read as null (e.g. `NA`, `""`); by default only an empty field is. */
  nullstr: z.union([z.string(), z.array(z.string()).min(1)]).optional(),
  /** Lines to skip before the header (a title or comment block). @default 0 */
  skip: z.number().int().min(0).default(0),
  /** strftime format of DATE columns, e.g. `%d/%m/%Y`; detected when absent. */
  dateFormat: z.string().min(1).optional(),
  /** strftime format of TIMESTAMP columns, e.g. `%d/%m/%Y %H:%M`; detected when absent. */
  timestampFormat: z.string().min(1).optional(),
  /** Decimal separator of numbers (`,` in much of Europe). @default '.' */
  decimalSeparator: z.enum(['.', ',']).default('.'),
});

export type CsvOptions = z.output<typeof csvOptions>;
export type CsvOptionsInput = z.input<typeof csvOptions>;

const envName = z
  .string()
  .refine((v) => !v.includes('://'), {
    message:
      'url names the environment variable that holds the connection string, not the connection string itself (keep secrets out of the spec)',
  })
  .pipe(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name: letters, digits and _, not starting with a digit'));

const postgresSource = z.strictObject({
  /** The SQL the rows come from; add ORDER BY for a stable dataset version. */
  query: z.string().trim().min(1, 'a query is not empty'),
  /** Name of the environment variable holding the connection string. @default 'DATABASE_URL' */
  url: envName.default(DEFAULT_POSTGRES_URL_ENV),
});

const label = z.union([column, z.strictObject({ expression: z.string().trim().min(1, 'a label expression is not empty') })]);

const partition = z.union([
  z.strictObject({
    /** Cut by the calendar day, ISO week or month of a time column. */
    by: z.enum(TIME_PARTITIONS),
    /** The time column; @default the spec's `time`. */
    column: column.optional(),
  }),
  /** One partition per distinct value of any column. */
  z.strictObject({ column }),
]);

/** The columns a model reads from its dataset: the label, the time column and the partitioning
 * (the model spec's `data`; a standalone source spec has the same fields). */
export const tableColumnsShape = {
  /** The label: a column, or `{ expression }` in SQL over the row (e.g. `delay > 15`). */
  label,
  /** The time column: time-ordered splits, day/week/month partitions, calendar parts in profiles. */
  time: column.optional(),
  partition: partition.optional(),
};

const uri = z
  .string()
  .min(1)
  .refine((v) => v.startsWith('file://') || v.startsWith('s3://'), 'a uri starts with file:// or s3://');

export const sourceSpecSchema = z
  .strictObject({
    /** A file, a glob (`*`, `**`, `?`) or a prefix ending in `/`, on file:// or s3://. */
    uri: uri.optional(),
    /** @default by extension: `.csv`/`.csv.gz` → csv, anything else → parquet */
    format: z.enum(SOURCE_FORMATS).optional(),
    /** How CSV files are read. */
    csv: csvOptions.optional(),
    /** A PostgreSQL query instead of files. */
    postgres: postgresSource.optional(),
    /** The label: a column, or `{ expression }` in SQL over the row (e.g. `delay > 15`). */
    label: label.optional(),
    /** The time column (splits, partitions by day/week/month, time-derived profile features). */
    time: column.optional(),
    partition: partition.optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.uri === undefined && spec.postgres === undefined)
      ctx.addIssue({ code: 'custom', path: ['uri'], message: 'a source has a uri (files) or a postgres query' });
    if (spec.uri !== undefined && spec.postgres !== undefined)
      ctx.addIssue({ code: 'custom', path: ['postgres'], message: 'a source has a uri or a postgres query, not both' });
    if (spec.postgres !== undefined && (spec.format !== undefined || spec.csv !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: [spec.format !== undefined ? 'format' : 'csv'],
        message: 'format and csv apply to files, not to a postgres query',
      });
    if (spec.csv !== undefined && spec.uri !== undefined && formatFor(spec.uri, spec.format) !== 'csv')
      ctx.addIssue({ code: 'custom', path: ['csv'], message: 'csv options need format: csv (or a .csv uri)' });
    if (spec.partition && 'by' in spec.partition && spec.partition.column === undefined && spec.time === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['partition', 'column'],
        message: `partition by ${spec.partition.by} needs a time column: set partition.column or time`,
      });
  });

/** Where a model's dataset is read from, without its columns (those are the model spec's
 * `data.label`, `data.time`, `data.partition`). */
export const tableSourceSchema = z
  .strictObject({
    uri: uri.optional(),
    format: z.enum(SOURCE_FORMATS).optional(),
    csv: csvOptions.optional(),
    postgres: postgresSource.optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.uri === undefined) === (spec.postgres === undefined))
      ctx.addIssue({ code: 'custom', path: ['uri'], message: 'a source has a uri (files) or a postgres query, not both' });
    if (spec.csv !== undefined && spec.uri !== undefined && formatFor(spec.uri, spec.format) !== 'csv')
      ctx.addIssue({ code: 'custom', path: ['csv'], message: 'csv options need format: csv (or a .csv uri)' });
  });
export type TableSource = z.output<typeof tableSourceSchema>;

export type SourceSpec = z.output<typeof sourceSpecSchema>;
export type SourceSpecInput = z.input<typeof sourceSpecSchema>;
export type PostgresSource = z.output<typeof postgresSource>;
export type LabelSpec = z.output<typeof label>;
export type PartitionSpec = z.output<typeof partition>;

/** A partitioning with its column resolved: by a time column's calendar, or by any column's value. */
export type Partitioning = { by: TimePartition; column: string } | { by: 'value'; column: string };

export class SourceSpecError extends Error {
  override readonly name = 'SourceSpecError';
}

/** The format of files at `uri`: the spec's, else by extension. */
export function formatFor(uri: string, format?: SourceFormat): SourceFormat {
  if (format) return format;
  const lower = uri.toLowerCase();
  return lower.endsWith('.csv') || lower.endsWith('.csv.gz') ? 'csv' : 'parquet';
}

/** Parses a source spec, naming the offending field on error. */
export function parseSourceSpec(value: unknown, source = 'source spec'): SourceSpec {
  return parseOrThrow(sourceSpecSchema, value, (issues) => new SourceSpecError(`invalid ${source}:\n${issues}`));
}

export async function loadSourceSpec(path: string): Promise<SourceSpec> {
  const value = await readSpecFile(path).catch((err: unknown) => {
    throw new SourceSpecError(`cannot read source spec ${path}: ${firstLine(err)}`);
  });
  return parseSourceSpec(value, path);
}

/** The spec's partitioning with the time column filled in, or undefined when it has none. */
export function partitioningOf(spec: Pick<SourceSpec, 'partition' | 'time'>): Partitioning | undefined {
  const p = spec.partition;
  if (!p) return undefined;
  if ('by' in p) return { by: p.by, column: p.column ?? spec.time! };
  return { by: 'value', column: p.column };
}
