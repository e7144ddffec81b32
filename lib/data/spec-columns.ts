// Does a table hold what the model spec reads? Every input column of the feature spec, the label
// and the time column are checked for presence and type before any rule runs, so a spec written
// for another table fails validation — with a report naming each column — instead of training.
import type { Duck } from './duck.ts';
import { sqlIdent } from './duck.ts';
import type { LabelSpec } from './source-spec.ts';
import type { ValidationProblem } from './validation/report.ts';
import { inputColumns } from '../features/tabular/instances.ts';
import type { FeatureSpec, InputKind } from '../features/tabular/spec.ts';
import type { TaskKind } from '../tasks/task.ts';

export interface SpecColumns {
  features?: FeatureSpec;
  label?: LabelSpec;
  time?: string;
  /** Checks the label's type for the task when set (a multiclass label may be any scalar). */
  task?: TaskKind;
}

const NUMBER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
const TEMPORAL = /^(DATE|TIMESTAMP.*)$/;
const NESTED = /(\[\d*\]$|^STRUCT|^MAP|^UNION|^BLOB|^BIT$)/;
const LIST = /^(.+?)\[(\d*)\]$/;
const EXAMPLES = 5;

/** What a column of `type` must be for `kind`, and a query counting its rows that are not. */
interface Need {
  /** Why the type cannot serve, or null when it can (maybe after the value check). */
  typeProblem: string | null;
  /** SQL condition true for a row whose value does not fit (checked only when the type passes). */
  badValue?: string;
  badValueMessage?: string;
}

function need(kind: InputKind, type: string, c: string): Need {
  if (kind === 'number') return { typeProblem: NUMBER.test(type) ? null : `is ${type}; a numeric feature needs a number column` };
  if (kind === 'string')
    return { typeProblem: NESTED.test(type) ? `is ${type}; a categorical feature needs a value castable to text` : null };
  if (kind === 'boolean') {
    if (type === 'BOOLEAN') return { typeProblem: null };
    if (!NUMBER.test(type)) return { typeProblem: `is ${type}; a boolean feature needs BOOLEAN or 0/1 numbers` };
    return { typeProblem: null, badValue: `${c} IS NOT NULL AND ${c} NOT IN (0, 1)`, badValueMessage: 'values other than 0 and 1' };
  }
  if (kind === 'timestamp') {
    if (TEMPORAL.test(type)) return { typeProblem: null };
    if (type !== 'VARCHAR') return { typeProblem: `is ${type}; a datetime needs DATE, TIMESTAMP or timestamp text` };
    return {
      typeProblem: null,
      badValue: `${c} IS NOT NULL AND TRY_CAST(${c} AS TIMESTAMP) IS NULL`,
      badValueMessage: 'text that is not a timestamp',
    };
  }
  const length = Number(/\d+/.exec(kind)?.[0]);
  const m = LIST.exec(type);
  if (!m || !NUMBER.test(m[1]!)) return { typeProblem: `is ${type}; a vector feature needs a list of numbers` };
  return {
    typeProblem: null,
    badValue: `${c} IS NOT NULL AND len(${c}) <> ${length}`,
    badValueMessage: `lists whose length is not ${length}`,
  };
}

function labelNeed(task: TaskKind | undefined, type: string, v: string): Need {
  if (task === 'binary') {
    if (type !== 'BOOLEAN' && !NUMBER.test(type)) return { typeProblem: `is ${type}; a binary label is BOOLEAN or 0/1 numbers` };
    return {
      typeProblem: null,
      badValue: `${v} IS NOT NULL AND NOT (TRY_CAST(${v} AS DOUBLE) IN (0, 1))`,
      badValueMessage: 'values other than 0 and 1',
    };
  }
  if (task === 'regression') return { typeProblem: NUMBER.test(type) ? null : `is ${type}; a regression label needs a number` };
  return { typeProblem: NESTED.test(type) ? `is ${type}; a class label needs a value castable to text` : null };
}

/** The problems (severity error, rule `spec_column`) of `from` against the model spec's columns;
 * none when everything it reads is there with a usable type. One scan for the value checks. */
export async function specColumnProblems(duck: Duck, from: string, spec: SpecColumns, signal?: AbortSignal): Promise<ValidationProblem[]> {
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const types = new Map(described.map((c) => [c.column_name, c.column_type]));
  const problems: ValidationProblem[] = [];
  // Value checks, run together in one scan: `value` is what the examples show.
  const checks: Array<{ column?: string; what: string; value: string; bad: string; message: string }> = [];
  const columnList = described.map((c) => c.column_name).join(', ');

  const check = (column: string, what: string, n: (type: string) => Need) => {
    const type = types.get(column);
    if (type === undefined) {
      problems.push({
        severity: 'error',
        rule: 'spec_column',
        column,
        message: `${what} reads column ${column}, which is not in the data (columns: ${columnList})`,
        observed: [...types.keys()],
      });
      return;
    }
    const r = n(type);
    if (r.typeProblem) {
      problems.push({
        severity: 'error',
        rule: 'spec_column',
        column,
        message: `${what}: column ${column} ${r.typeProblem}`,
        observed: type,
      });
    } else if (r.badValue) checks.push({ column, what, value: sqlIdent(column), bad: r.badValue, message: r.badValueMessage! });
  };

  if (spec.features)
    for (const { column, kind } of inputColumns(spec.features))
      check(column, 'the feature spec', (type) => need(kind, type, sqlIdent(column)));
  if (spec.time !== undefined) check(spec.time, 'the time column', (type) => need('timestamp', type, sqlIdent(spec.time!)));
  if (typeof spec.label === 'string') {
    const label = spec.label;
    check(label, 'the label', (type) => labelNeed(spec.task, type, sqlIdent(label)));
  } else if (spec.label) {
    const expression = spec.label.expression;
    const what = `the label expression ${expression}`;
    try {
      const [d] = await duck.all<{ column_type: string }>(`DESCRIBE SELECT (${expression}) AS v FROM ${from}`, signal);
      const r = labelNeed(spec.task, d?.column_type ?? 'NULL', `(${expression})`);
      if (r.typeProblem) problems.push({ severity: 'error', rule: 'spec_column', message: `${what} ${r.typeProblem}` });
      else if (r.badValue) checks.push({ what, value: `(${expression})`, bad: r.badValue, message: r.badValueMessage! });
    } catch (err) {
      const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      problems.push({
        severity: 'error',
        rule: 'spec_column',
        message: `${what} does not run on this data: ${detail} (columns: ${columnList})`,
      });
    }
  }

  if (checks.length) {
    const select = checks.flatMap((k, i) => [
      `count(*) FILTER (WHERE ${k.bad})::BIGINT AS n${i}`,
      `(list(DISTINCT ${k.value}::VARCHAR) FILTER (WHERE ${k.bad}))[1:${EXAMPLES}] AS x${i}`,
    ]);
    const [row = {}] = await duck.all<Record<string, unknown>>(`SELECT ${select.join(', ')} FROM ${from}`, signal);
    checks.forEach((k, i) => {
      const n = Number(row[`n${i}`] ?? 0);
      if (n === 0) return;
      const examples = (row[`x${i}`] as string[] | null) ?? [];
      problems.push({
        severity: 'error',
        rule: 'spec_column',
        ...(k.column !== undefined ? { column: k.column } : {}),
        message: `${k.what}: ${k.column !== undefined ? `column ${k.column} has ` : ''}${n} rows with ${k.message} (e.g. ${examples.join(', ')})`,
        observed: { rows: n, examples },
      });
    });
  }
  return problems;
}
