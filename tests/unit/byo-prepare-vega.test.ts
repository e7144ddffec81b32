// The two datasets besides flights that run the whole loop, through validation, profile and
// features: weather.csv (multiclass `weather`) and seattle-weather-hourly-normals.csv (regression
// `temperature`).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import { buildFeaturesForVersion, loadDataset, profileDatasetVersion, validateDatasetVersion } from '../../lib/data/prepare.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { parseFeatureSpec } from '../../lib/features/tabular/spec.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

async function prepare(file: string, dataset: string) {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-vega-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(dir, 'store')).toString());
  return { store, uri: pathToFileURL(join(vegaDatasetsDataDir(), file)).toString(), dataset };
}

describe('the vega datasets through the data path', () => {
  it('weather.csv: multiclass weather from location, date parts and measurements', async () => {
    const { store, uri, dataset } = await prepare('weather.csv', 'weather');
    const features = parseFeatureSpec({
      features: [
        { name: 'location', kind: 'categorical' },
        { name: 'season', kind: 'datetime', column: 'date', parts: ['month', 'dayOfWeek'] },
        ...['precipitation', 'temp_max', 'temp_min', 'wind'].map((name) => ({ name, kind: 'numeric' as const })),
      ],
    });
    await withDuck(async (duck) => {
      const manifest = await ingestDataset(duck, { store }, { dataset, sourceUris: [uri] });
      await loadDataset(duck, { store }, manifest);
      const columns = { features, label: 'weather', task: 'multiclass' as const, time: 'date' };
      const spec = parseValidationSpec({ dataset, columns: {}, allowExtraColumns: true });
      expect((await validateDatasetVersion(duck, store, manifest, spec, undefined, undefined, columns)).report.passed).toBe(true);
      const { profile } = await profileDatasetVersion(duck, store, manifest, undefined, undefined, columns);
      expect(Object.keys(profile.features)).toEqual([
        'location',
        'season.month',
        'season.dayOfWeek',
        'precipitation',
        'temp_max',
        'temp_min',
        'wind',
        '__label',
      ]);
      const out = await buildFeaturesForVersion(duck, store, manifest, columns);
      expect(out.task).toEqual({ kind: 'multiclass', classes: ['drizzle', 'fog', 'rain', 'snow', 'sun'] });
      expect(out.splits.train.rows + out.splits.validation.rows + out.splits.test.rows + out.dropped.unseenClass).toBe(manifest.rows);
    });
  });

  it('seattle-weather-hourly-normals.csv: regression temperature from date parts, pressure and wind', async () => {
    const { store, uri, dataset } = await prepare('seattle-weather-hourly-normals.csv', 'seattle-normals');
    const features = parseFeatureSpec({
      features: [
        { name: 'hour', kind: 'datetime', column: 'date', parts: ['hour'], encoding: 'cyclic' },
        { name: 'month', kind: 'datetime', column: 'date', parts: ['month'] },
        { name: 'pressure', kind: 'numeric' },
        { name: 'wind', kind: 'numeric' },
      ],
    });
    await withDuck(async (duck) => {
      const manifest = await ingestDataset(duck, { store }, { dataset, sourceUris: [uri] });
      await loadDataset(duck, { store }, manifest);
      const columns = { features, label: 'temperature', task: 'regression' as const, time: 'date' };
      const spec = parseValidationSpec({ dataset, columns: {}, allowExtraColumns: true });
      expect((await validateDatasetVersion(duck, store, manifest, spec, undefined, undefined, columns)).report.passed).toBe(true);
      const out = await buildFeaturesForVersion(duck, store, manifest, columns);
      expect(out.task).toEqual({ kind: 'regression' });
      expect(out.splits.train.rows).toBeGreaterThan(out.splits.test.rows);
      expect(out.splits.train.positives).toBe(0);
    });
  });
});
