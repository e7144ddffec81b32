// The choices `flywheel init` makes from a table's summary: the task from the label column and
// the time column, each with the reason it prints, so a person can see why and override it.
import type { TaskKind } from '../tasks/task.ts';
import { OnboardingError } from './errors.ts';
import type { ColumnSummary, TableSummary } from './inspect.ts';

/** A label with at most this many distinct values (or any text label) is read as classes. */
export const MAX_CLASSES = 50;

const BINARY_VALUES = new Set(['0', '1', 'true', 'false']);

/** Two values a binary label can hold: 0/1 (`1.0` too, from a DOUBLE column) or true/false. */
function isBinary(label: ColumnSummary, values: readonly string[]): boolean {
  const numeric = label.kind === 'integer' || label.kind === 'float';
  return label.distinct === 2 && values.every((v) => (numeric ? Number(v) === 0 || Number(v) === 1 : BINARY_VALUES.has(v.toLowerCase())));
}
const TIME_NAMES = ['date', 'time', 'timestamp', 'datetime'];

export interface Choice<T> {
  value: T;
  /** One sentence saying why, printed by `flywheel init`. */
  reason: string;
}

export function findColumn(summary: TableSummary, name: string, what: string): ColumnSummary {
  const column = summary.columns.find((c) => c.name === name);
  if (!column)
    throw new OnboardingError(
      `${what} column ${JSON.stringify(name)} is not in the data; its columns are: ${summary.columns.map((c) => c.name).join(', ')}`,
    );
  return column;
}

/**
 * The task a label column asks for: two values that are 0/1 or true/false → binary; a text
 * label, or a numeric one with at most MAX_CLASSES values → multiclass; else regression.
 * `values` are the label's distinct values as text (the first few are enough).
 */
export function inferTask(label: ColumnSummary, values: readonly string[]): Choice<TaskKind> {
  const numeric = label.kind === 'integer' || label.kind === 'float';
  if (isBinary(label, values)) return { value: 'binary', reason: `${label.name} has two values, ${values.join(' and ')}: a binary label` };
  if (label.distinct === 2)
    return {
      value: 'multiclass',
      reason: `${label.name} has two values, ${values.join(' and ')}, not 0/1 or true/false: two classes (binary needs a 0/1 label; write it as data.label: { expression: … } to get one)`,
    };
  if (!numeric)
    return { value: 'multiclass', reason: `${label.name} is ${label.duckType} with ${label.distinct} distinct values: classes` };
  if (label.distinct <= MAX_CLASSES)
    return {
      value: 'multiclass',
      reason: `${label.name} is a number with only ${label.distinct} distinct values (at most ${MAX_CLASSES}): classes (pass --task regression to predict the number)`,
    };
  return { value: 'regression', reason: `${label.name} is a number with ${label.distinct} distinct values: regression` };
}

/** Checks a task given on the command line against the label column. */
export function checkTask(task: TaskKind, label: ColumnSummary, values: readonly string[]): Choice<TaskKind> {
  if (task === 'binary' && !isBinary(label, values))
    throw new OnboardingError(
      `--task binary needs a label with the two values 0/1 or true/false; ${label.name} has ${label.distinct} (${values.slice(0, 5).join(', ')}${label.distinct > 5 ? ', …' : ''}): choose multiclass, or write data.label: { expression: … } in the spec by hand`,
    );
  if (task === 'regression' && label.kind !== 'integer' && label.kind !== 'float')
    throw new OnboardingError(`--task regression needs a numeric label; ${label.name} is ${label.duckType}`);
  return { value: task, reason: `--task ${task} as given` };
}

function isTemporal(c: ColumnSummary): boolean {
  return c.kind === 'timestamp';
}

/** The time column: the one given (it must be a DATE or TIMESTAMP), else a temporal column
 * named date/time/timestamp/datetime, else the first temporal column; none when there is none. */
export function inferTime(summary: TableSummary, label: string, given?: string): Choice<string | undefined> {
  if (given !== undefined) {
    const column = findColumn(summary, given, 'time');
    if (!isTemporal(column))
      throw new OnboardingError(
        `time column ${given} is ${column.duckType}; it needs DATE or TIMESTAMP (for CSV text in another layout, set csv.dateFormat or csv.timestampFormat in the spec's data.source)`,
      );
    if (column.name === label) throw new OnboardingError(`the time column cannot be the label`);
    return { value: given, reason: `--time ${given} as given` };
  }
  const temporal = summary.columns.filter((c) => isTemporal(c) && c.name !== label);
  const named = temporal.find((c) => TIME_NAMES.includes(c.name.toLowerCase()));
  const chosen = named ?? temporal[0];
  if (chosen)
    return {
      value: chosen.name,
      reason: `${chosen.name} is ${chosen.duckType}${temporal.length > 1 ? ` (of ${temporal.length} date/time columns${named ? ', the one named like a time' : ', the first'})` : ''}: time-ordered splits and monthly partitions`,
    };
  const textual = summary.columns.find((c) => TIME_NAMES.includes(c.name.toLowerCase()));
  return {
    value: undefined,
    reason: textual
      ? `no time column: ${textual.name} is ${textual.duckType}, not a DATE or TIMESTAMP DuckDB recognised (random splits, no partitions)`
      : 'no DATE or TIMESTAMP column: random splits, no partitions (pass --time to name one)',
  };
}
