// The hand-written flights encoder that examples/flights/features.yaml replaced, kept only as the
// baseline benchmarks compare the generic tabular encoder with (bench:features, bench:batch) and
// as the reference the bit-identity test checks the spec against
// (tests/unit/features-flights-spec.test.ts). Nothing in lib/, activities/, serving/ or workflows/
// may import it (tests/unit/no-flights-features.test.ts).
import { createHash } from 'node:crypto';
import type { Duck } from '../../lib/data/duck.ts';
import type { FeatureDef as ProfileFeatureDef } from '../../lib/data/profile.ts';
import { dayOfWeekOfMs, hourOfMs, parseNaiveTimestampMs } from '../../lib/time/naive-timestamp.ts';

export const FLIGHTS_FEATURE_SPEC_KIND = 'flights-v1';
/** The label: a flight counts as delayed when it left more than 15 minutes late. */
export const DELAY_THRESHOLD_MINUTES = 15;
export const FLIGHTS_LABEL_SQL = `CAST(delay > ${DELAY_THRESHOLD_MINUTES} AS INTEGER)`;

export function flightsLabel(delayMinutes: number): 0 | 1 {
  return delayMinutes > DELAY_THRESHOLD_MINUTES ? 1 : 0;
}

export interface FlightsFeatureSpec {
  kind: typeof FLIGHTS_FEATURE_SPEC_KIND;
  /** Dataset version the state was fitted on. */
  fittedOn: string;
  distance: { mean: number; std: number };
  /** Known airports in index order; anything else maps to the out-of-vocabulary slot. */
  originVocab: string[];
  destinationVocab: string[];
}

/** One flight as raw fields: what a prediction request carries. `date` is the scheduled local
 * departure as a naive timestamp (`2001-03-04T13:45:00`), like the dataset's column. */
export interface FlightInstance {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** Raw fields for many flights, columnar. `dateMs` is the naive timestamp as epoch ms (UTC math). */
export interface FlightsBatch {
  dateMs: ArrayLike<number>;
  distance: ArrayLike<number>;
  origin: ArrayLike<string>;
  destination: ArrayLike<string>;
}

export function featureDimension(spec: FlightsFeatureSpec): number {
  return 24 + 7 + 1 + spec.originVocab.length + 1 + spec.destinationVocab.length + 1;
}

export function featureNames(spec: FlightsFeatureSpec): string[] {
  return [
    ...Array.from({ length: 24 }, (_, h) => `hour=${h}`),
    ...['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => `dow=${d}`),
    'distance_scaled',
    ...spec.originVocab.map((a) => `origin=${a}`),
    'origin=<oov>',
    ...spec.destinationVocab.map((a) => `destination=${a}`),
    'destination=<oov>',
  ];
}

/** Canonical hash of the fitted state: models record it and serving refuses a mismatch. */
export function featureSpecHash(spec: FlightsFeatureSpec): string {
  const canonical = JSON.stringify({
    kind: spec.kind,
    distance: spec.distance,
    originVocab: spec.originVocab,
    destinationVocab: spec.destinationVocab,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Hour of day 0–23 of a naive timestamp. */
export const hourOf = hourOfMs;

/** Day of week, Monday = 0 … Sunday = 6. */
export const dayOfWeekOf = dayOfWeekOfMs;

/** Parses a naive timestamp with its time of day (no zone: the flight's local time). Returns null
 * when malformed, date-only, or when it carries a zone, which would silently shift the hour. */
export function parseNaiveTimestamp(value: string): number | null {
  return parseNaiveTimestampMs(value, { requireTime: true });
}

export function batchFromInstances(instances: readonly FlightInstance[]): FlightsBatch {
  const dateMs = new Float64Array(instances.length);
  instances.forEach((inst, i) => {
    const ms = parseNaiveTimestamp(inst.date);
    if (ms === null)
      throw new RangeError(`instance ${i}: date ${JSON.stringify(inst.date)} is not a naive timestamp like 2001-03-04T13:45:00`);
    dateMs[i] = ms;
  });
  return {
    dateMs,
    distance: Float64Array.from(instances, (inst) => inst.distance),
    origin: instances.map((inst) => inst.origin),
    destination: instances.map((inst) => inst.destination),
  };
}

/** Encodes a batch into row-major Float32 vectors of featureDimension(spec) each. */
export function encodeFlights(spec: FlightsFeatureSpec, batch: FlightsBatch, out?: Float32Array): Float32Array {
  const n = batch.dateMs.length;
  const dim = featureDimension(spec);
  const x = out ?? new Float32Array(n * dim);
  if (x.length < n * dim) throw new RangeError(`output buffer holds ${x.length} values, needs ${n * dim}`);
  x.fill(0, 0, n * dim);
  const originIndex = new Map(spec.originVocab.map((a, i) => [a, i]));
  const destIndex = new Map(spec.destinationVocab.map((a, i) => [a, i]));
  const originBase = 32;
  const destBase = originBase + spec.originVocab.length + 1;
  const std = spec.distance.std > 0 ? spec.distance.std : 1;
  for (let i = 0; i < n; i++) {
    const row = i * dim;
    const ms = batch.dateMs[i]!;
    x[row + hourOf(ms)] = 1;
    x[row + 24 + dayOfWeekOf(ms)] = 1;
    x[row + 31] = (batch.distance[i]! - spec.distance.mean) / std;
    x[row + originBase + (originIndex.get(batch.origin[i]!) ?? spec.originVocab.length)] = 1;
    x[row + destBase + (destIndex.get(batch.destination[i]!) ?? spec.destinationVocab.length)] = 1;
  }
  return x;
}

/** Fits the hand-written state: airport vocabularies by frequency (ties by name) and the distance
 * scaling. */
export interface FitOptions {
  /** Airports seen fewer times than this go to the out-of-vocabulary slot. @default 500 */
  minCount?: number;
  /** Largest vocabulary per column. @default 128 */
  maxVocab?: number;
  signal?: AbortSignal;
}

async function vocab(
  duck: Duck,
  from: string,
  column: string,
  minCount: number,
  maxVocab: number,
  signal?: AbortSignal,
): Promise<string[]> {
  const rows = await duck.all<{ v: string }>(
    `SELECT ${column} AS v FROM ${from} WHERE ${column} IS NOT NULL GROUP BY 1 HAVING count(*) >= ${minCount}
     ORDER BY count(*) DESC, v ASC LIMIT ${maxVocab}`,
    signal,
  );
  return rows.map((r) => r.v);
}

export async function fitFlightsFeatureSpec(
  duck: Duck,
  from: string,
  fittedOn: string,
  options: FitOptions = {},
): Promise<FlightsFeatureSpec> {
  const minCount = options.minCount ?? 500;
  const maxVocab = options.maxVocab ?? 128;
  const [d] = await duck.all<{ mean: number; std: number }>(
    `SELECT avg(distance)::DOUBLE AS mean, coalesce(stddev_pop(distance), 0)::DOUBLE AS std FROM ${from}`,
    options.signal,
  );
  return {
    kind: FLIGHTS_FEATURE_SPEC_KIND,
    fittedOn,
    distance: { mean: d?.mean ?? 0, std: d?.std ?? 1 },
    originVocab: await vocab(duck, from, 'origin', minCount, maxVocab, options.signal),
    destinationVocab: await vocab(duck, from, 'destination', minCount, maxVocab, options.signal),
  };
}

/** Hand-written profile definitions of the flights columns (the raw columns plus the hour and
 * weekday of the departure): the profile engine's benchmark (bench:data) and the generic
 * inference's comparison test use them as the fixed reference. */
export const FLIGHTS_PROFILE_FEATURES = [
  { name: 'hour', kind: 'numeric', sql: 'hour(date)', bins: 24, range: [0, 24] },
  { name: 'day_of_week', kind: 'numeric', sql: 'isodow(date) - 1', bins: 7, range: [0, 7] },
  { name: 'distance', kind: 'numeric' },
  { name: 'delay', kind: 'numeric' },
  { name: 'origin', kind: 'categorical' },
  { name: 'destination', kind: 'categorical' },
] as const satisfies ReadonlyArray<ProfileFeatureDef>;
