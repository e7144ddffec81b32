// Loads a flights split (Parquet in the artifact store) into the trainer's columnar Dataset,
// encoding features with the shared feature spec — the same code serving uses.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duck } from '../data/duck.ts';
import { materializeSource, readSql, type SourceContext } from '../data/sources.ts';
import { encodeFlights, featureDimension, type FlightsFeatureSpec } from '../features/flights.ts';
import type { Dataset } from './tfjs/trainer.ts';

export interface LoadSplitOptions {
  /** Use only the first `limit` rows (tests, quick runs). */
  limit?: number;
  signal?: AbortSignal;
}

export async function loadFlightsSplit(duck: Duck, ctx: SourceContext, splitUri: string, spec: FlightsFeatureSpec, options: LoadSplitOptions = {}): Promise<Dataset> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-split-'));
  try {
    const file = await materializeSource(ctx, splitUri, tmp, options.signal);
    const cols = await duck.columns(
      `SELECT epoch_ms(date)::DOUBLE AS ms, distance::DOUBLE AS distance, origin, destination, label::FLOAT AS label
       FROM ${readSql([file])}${options.limit ? ` LIMIT ${options.limit}` : ''}`,
      options.signal,
    );
    const rows = (cols.ms ?? []).length;
    const x = encodeFlights(spec, {
      dateMs: Float64Array.from(cols.ms as number[]),
      distance: Float64Array.from(cols.distance as number[]),
      origin: cols.origin as string[],
      destination: cols.destination as string[],
    });
    return { x, y: Float32Array.from(cols.label as number[]), rows, dim: featureDimension(spec) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
