// A request's instances checked against the version that will score them, and turned into the
// encoder's columns. The generic checks (object, bounds, storable text) ran at the door; here the
// model's fitted features decide which fields are required, which are unknown, and what each must
// hold. Every problem is named (`instances[3].temp_max: …`), at most five of them, in one 400.
// Module by module, not the index: the index brings the DuckDB fitter, which serving never needs.
import type { FeatureBatch } from '../lib/features/tabular/encode.ts';
import { batchFromInstances } from '../lib/features/tabular/instances.ts';
import type { ModelIO } from '../lib/features/tabular/model-io.ts';
import { ServingError } from './errors.ts';

/** Problems listed in one reply; the rest are counted (`and 7 more`). */
const MAX_LISTED = 5;
/** Problems collected before giving up on a hostile request (the count says `more`). */
const MAX_COLLECTED = 100;

export interface CheckedInstances {
  batch: FeatureBatch;
}

export interface CheckOptions {
  /** Refuse fields the model does not read. A shadow, which may read fewer columns than the
   * version that answers, ignores them instead. @default true */
  strict?: boolean;
}

/** Throws a 400 naming each field of `instances` that `io` cannot encode, or returns its columns. */
export function checkInstancesFor(io: ModelIO, instances: readonly object[], model: string, options: CheckOptions = {}): CheckedInstances {
  const problems: string[] = [];
  const known = new Set(io.inputs.map((i) => i.column));
  for (let i = 0; i < instances.length && problems.length < MAX_COLLECTED && (options.strict ?? true); i++) {
    for (const field of Object.keys(instances[i]!)) {
      if (!known.has(field)) problems.push(`instances[${i}].${field}: unknown field (${model} reads ${describeInputs(io)})`);
      if (problems.length >= MAX_COLLECTED) break;
    }
  }
  const result = batchFromInstances(io.fitted.spec, instances, { maxErrors: MAX_COLLECTED });
  if (!result.ok) for (const e of result.errors) problems.push(`instances[${e.index}].${e.field}: ${e.message}`);
  if (problems.length > 0 || !result.ok) {
    const more = problems.length > MAX_LISTED ? ` (and ${problems.length - MAX_LISTED} more)` : '';
    throw new ServingError('badRequest', `invalid request body: ${problems.slice(0, MAX_LISTED).join('; ')}${more}`);
  }
  return { batch: result.batch };
}

/** Per instance: the canonical JSON of its input columns in ModelIO.inputs order (timestamps as
 * parsed epoch ms), so equal inputs written differently share a cache entry. Only the cache needs
 * it: build it only when the cache is on. */
export function canonicalRows(io: ModelIO, batch: FeatureBatch): string[] {
  const columns = io.inputs.map((i) => batch.columns[i.column]!);
  const out = new Array<string>(batch.rows);
  const row = new Array<unknown>(columns.length);
  for (let r = 0; r < batch.rows; r++) {
    // NaN (a null number or timestamp) serialises as null, as it was sent.
    for (let c = 0; c < columns.length; c++) row[c] = columns[c]![r];
    out[r] = JSON.stringify(row);
  }
  return out;
}

/** `a (number), b (string), …` for messages; long lists are cut. */
export function describeInputs(io: ModelIO): string {
  const shown = io.inputs.slice(0, 20).map((i) => `${i.column} (${i.kind})`);
  return io.inputs.length > 20 ? `${shown.join(', ')} and ${io.inputs.length - 20} more` : shown.join(', ');
}
