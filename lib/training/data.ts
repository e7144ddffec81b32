// Loads a flights split (Parquet in the artifact store) into the trainer's columnar Dataset,
// encoding features with the shared feature spec — the same code serving uses.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duck } from '../data/duck.ts';
import { materializeSource, readSql, type SourceContext } from '../data/sources.ts';
import { encodeFlights, featureDimension, type FlightsBatch, type FlightsFeatureSpec } from '../features/flights.ts';
import type { Dataset } from './tfjs/trainer.ts';

export interface LoadSplitOptions {
  /** Use only the first `limit` rows (tests, quick runs). */
  limit?: number;
  signal?: AbortSignal;
}

export interface FlightsRows {
  batch: FlightsBatch;
  labels: Float32Array;
  rows: number;
}

/** Raw columns and labels of a split, for encoding with any feature spec (e.g. a champion's). */
export async function loadFlightsRows(
  duck: Duck,
  ctx: SourceContext,
  splitUri: string,
  options: LoadSplitOptions = {},
): Promise<FlightsRows> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-split-'));
  try {
    const file = await materializeSource(ctx, splitUri, tmp, options.signal);
    const cols = await duck.columns(
      `SELECT epoch_ms(date)::DOUBLE AS ms, distance::DOUBLE AS distance, origin, destination, label::FLOAT AS label
       FROM ${readSql([file])}${options.limit ? ` LIMIT ${options.limit}` : ''}`,
      options.signal,
    );
    return {
      batch: {
        dateMs: Float64Array.from(cols.ms as number[]),
        distance: Float64Array.from(cols.distance as number[]),
        origin: cols.origin as string[],
        destination: cols.destination as string[],
      },
      labels: Float32Array.from(cols.label as number[]),
      rows: (cols.ms ?? []).length,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function encodeRows(spec: FlightsFeatureSpec, rows: FlightsRows): Dataset {
  return { x: encodeFlights(spec, rows.batch), y: rows.labels, rows: rows.rows, dim: featureDimension(spec) };
}

export async function loadFlightsSplit(
  duck: Duck,
  ctx: SourceContext,
  splitUri: string,
  spec: FlightsFeatureSpec,
  options: LoadSplitOptions = {},
): Promise<Dataset> {
  return encodeRows(spec, await loadFlightsRows(duck, ctx, splitUri, options));
}
