// Slice keys for any table, read from the model's own feature spec: one family per categorical
// feature's source column (its values; groupSlices then keeps the most frequent) and one per
// datetime feature's first part (hour, day of week, month or day of month). Flights get
// `city=Paris` and `date.hour=17` without the evaluator knowing what the table holds.
import type { FeatureBatch } from '../features/tabular/encode.ts';
import { sourceColumn, type DatetimePart, type FeatureSpec } from '../features/tabular/spec.ts';
import { dayOfMonthOfMs, dayOfWeekOfMs, hourOfMs, monthOfMs } from '../time/naive-timestamp.ts';

/** Key of a row whose slice column is null, NaN or missing. */
export const MISSING_SLICE = '<null>';

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Readable, sortable key of one datetime part. */
function partKey(part: DatetimePart, ms: number): string {
  switch (part) {
    case 'hour':
      return String(hourOfMs(ms)).padStart(2, '0');
    case 'dayOfWeek':
      return WEEKDAYS[dayOfWeekOfMs(ms)]!;
    case 'month':
      return MONTHS[monthOfMs(ms)]!;
    case 'dayOfMonth':
      return String(dayOfMonthOfMs(ms)).padStart(2, '0');
  }
}

/**
 * Slice keys per family, one per row of `batch` (which must carry the spec's input columns, as
 * `batchFromDuckColumns` gives them). Families: `<column>` for categorical features and
 * `<column>.<part>` for datetime ones; a column used by two features is sliced once.
 */
export function featureSlices(spec: FeatureSpec, batch: FeatureBatch): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const def of spec.features) {
    const column = sourceColumn(def);
    const values = batch.columns[column];
    if (!values) continue;
    if (def.kind === 'categorical' && !(column in out)) {
      out[column] = Array.from({ length: batch.rows }, (_, i) => {
        const v = values[i] as unknown;
        return v === null || v === undefined ? MISSING_SLICE : String(v);
      });
    } else if (def.kind === 'datetime') {
      const part = def.parts[0]!.part;
      const family = `${column}.${part}`;
      if (family in out) continue;
      out[family] = Array.from({ length: batch.rows }, (_, i) => {
        const ms = values[i] as number | null;
        return ms === null || !Number.isFinite(ms) ? MISSING_SLICE : partKey(part, ms);
      });
    }
  }
  return out;
}
