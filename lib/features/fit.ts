// Fits the flights feature spec on a training table in DuckDB: airport vocabularies by frequency
// (ties by name, so the order is deterministic) and the distance scaling.
import type { Duck } from '../data/duck.ts';
import { FLIGHTS_FEATURE_SPEC_KIND, type FlightsFeatureSpec } from './flights.ts';

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
