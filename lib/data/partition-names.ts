// Partition names as users type them (`flywheel data arrive <partition>`, the events endpoint):
// checked without DuckDB, so the inference server can validate an event body without loading
// the engine. partitions.ts cuts tables into partitions with these names.
import type { Partitioning, TimePartition } from './source-spec.ts';
import { InvalidPartitionError } from './errors.ts';

export { InvalidPartitionError };

/** Longest partition name, in UTF-8 bytes (object keys and file names stay well inside limits). */
export const PARTITION_NAME_MAX_BYTES = 200;

export const DAY_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
export const WEEK_PATTERN = /^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$/;
export const MONTH_PATTERN = /^\d{4}-(0[1-9]|1[0-2])$/;

const EXAMPLES: Record<TimePartition, string> = { day: '2001-03-04', week: '2001-W09', month: '2001-03' };
const PATTERNS: Record<TimePartition, RegExp> = { day: DAY_PATTERN, week: WEEK_PATTERN, month: MONTH_PATTERN };

function isoWeeksIn(year: number): number {
  // A year has 53 ISO weeks when 1 January or 31 December falls on a Thursday.
  const dow = (m: number, d: number) => new Date(Date.UTC(year, m, d)).getUTCDay();
  return dow(0, 1) === 4 || dow(11, 31) === 4 ? 53 : 52;
}

/** Why `name` cannot be one path segment, or undefined when it can. */
export function unsafeReason(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name === '.' || name === '..') return 'is "." or ".."';
  if (name.includes('/')) return 'contains "/"';
  if (name.includes('\\')) return 'contains "\\"';
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'contains a control character';
  if (Buffer.byteLength(name) > PARTITION_NAME_MAX_BYTES) return `is longer than ${PARTITION_NAME_MAX_BYTES} bytes`;
  return undefined;
}

/** Checks a partition name a user gave (`flywheel data arrive <partition>`, the events endpoint):
 * the calendar form for a time partitioning (a real day, an ISO week that year has), any safe
 * path segment for a column's value. Throws InvalidPartitionError saying what is wrong. */
export function assertPartitionName(by: Partitioning['by'], name: string): void {
  const reason = unsafeReason(name);
  if (reason) throw new InvalidPartitionError(`partition ${JSON.stringify(name)} ${reason}; a partition name is one path segment`);
  if (by === 'value') return;
  if (!PATTERNS[by].test(name))
    throw new InvalidPartitionError(
      `partition ${JSON.stringify(name)} is not a ${by} (${by === 'week' ? 'ISO week ' : ''}like ${EXAMPLES[by]})`,
    );
  if (by === 'day') {
    const [y, m, d] = name.split('-').map(Number) as [number, number, number];
    if (new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d)
      throw new InvalidPartitionError(`partition ${JSON.stringify(name)} is not a calendar day`);
  }
  if (by === 'week') {
    const [y, w] = name.split('-W').map(Number) as [number, number];
    if (w > isoWeeksIn(y)) throw new InvalidPartitionError(`partition ${JSON.stringify(name)}: ${y} has ${isoWeeksIn(y)} ISO weeks`);
  }
}
