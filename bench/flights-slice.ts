// A fixed, real slice of the flights data prepared through the data plane (ingest → features, with
// the example's feature spec)
// into a temporary local store, for the training benchmarks.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { withDuck } from '../lib/data/duck.ts';
import { flightsParquetPath } from '../lib/data/flights.ts';
import { ingestDataset } from '../lib/data/ingest.ts';
import { buildFeaturesForVersion, loadDataset } from '../lib/data/prepare.ts';
import { loadFeatureSpec, loadModelIO } from '../lib/features/tabular/index.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { loadSplit } from '../lib/training/data.ts';
import type { Dataset } from '../lib/training/tfjs/trainer.ts';

export interface FlightsSlice {
  root: string;
  store: LocalArtifactStore;
  train: Dataset;
  validation: Dataset;
  test: Dataset;
  trainUri: string;
  validationUri: string;
  featureSpecUri: string;
}

export async function prepareFlightsSlice(rows: number): Promise<FlightsSlice> {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-bench-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
  const file = join(root, 'slice.parquet');
  return withDuck(async (duck) => {
    await duck.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') ORDER BY date LIMIT ${rows}) TO '${file}' (FORMAT parquet)`,
    );
    const manifest = await ingestDataset(duck, { store }, { dataset: 'flights', sourceUris: [pathToFileURL(file).toString()] });
    await loadDataset(duck, { store }, manifest);
    const features = await loadFeatureSpec(new URL('../examples/flights/features.yaml', import.meta.url).pathname);
    const f = await buildFeaturesForVersion(duck, store, manifest, {
      features,
      task: 'binary',
      label: { expression: 'delay > 15' },
      time: 'date',
    });
    const io = await loadModelIO(store, f.featureSpecUri);
    return {
      root,
      store,
      train: await loadSplit(duck, { store }, f.splits.train.uri, io),
      validation: await loadSplit(duck, { store }, f.splits.validation.uri, io),
      test: await loadSplit(duck, { store }, f.splits.test.uri, io),
      trainUri: f.splits.train.uri,
      validationUri: f.splits.validation.uri,
      featureSpecUri: f.featureSpecUri,
    };
  });
}
