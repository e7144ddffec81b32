// The flights feature spec, shared by training, batch scoring and serving so there is no
// training/serving skew: every path turns raw rows into the same Float32 vectors through
// `encodeFlights`. Fitted state (vocabularies, distance scaling) is a JSON artifact tied to the
// dataset version it was fitted on; its hash identifies it in model metadata.
import { createHash } from 'node:crypto';
import { dayOfWeekOfMs, hourOfMs, parseNaiveTimestampMs } from '../time/naive-timestamp.ts';

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
