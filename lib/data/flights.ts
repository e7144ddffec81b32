// The demo and test workload: 3,000,000 real US flights (Jan–Jun 2001) shipped by the
// `vega-datasets` npm package as data/flights-3m.parquet.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FLIGHTS_DATASET = 'flights';

/** Where the package's data folder is. Its `exports` map hides package.json, so the folder is
 * found from the resolved main entry, walking up to the package root. */
export function vegaDatasetsDataDir(): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('vega-datasets')));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'data', 'flights-3m.parquet'))) return join(dir, 'data');
    dir = dirname(dir);
  }
  throw new Error('vega-datasets is installed but data/flights-3m.parquet was not found in it');
}

export function flightsParquetPath(): string {
  return join(vegaDatasetsDataDir(), 'flights-3m.parquet');
}

/** Key of one monthly partition in the data lake. */
export function flightsPartitionKey(month: string): string {
  return `raw/${FLIGHTS_DATASET}/month=${month}/part-0000.parquet`;
}

/** A month partition's name, `YYYY-MM` (the flights lake is partitioned by month). */
export { MONTH_PATTERN } from './partitions.ts';
