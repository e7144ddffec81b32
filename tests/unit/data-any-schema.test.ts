// Validation specs and profiles on tables that are not flights: penguins (JSON; column names with
// spaces, nulls, a stray "." category) and Seattle weather (CSV through a source spec; a DATE time
// column). The generic profile path derives its features from the columns and their types, with
// the time column's calendar parts; on flights its hour and weekday equal the flights profile's.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withDuck, type Duck } from '../../lib/data/duck.ts';
import { flightsParquetPath, vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import { profileFeaturesFor } from '../../lib/data/prepare.ts';
import { defaultFeatures, inferProfileFeatures, profileTable } from '../../lib/data/profile.ts';
import type { CategoricalProfile, NumericProfile } from '../../lib/data/profile-types.ts';
import { resolveSource } from '../../lib/data/resolve.ts';
import { parseSourceSpec } from '../../lib/data/source-spec.ts';
import { validateTable } from '../../lib/data/validation/engine.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { FLIGHTS_PROFILE_FEATURES } from '../../examples/flights/legacy-encoder.ts';

const data = vegaDatasetsDataDir();

async function penguins(duck: Duck): Promise<string> {
  await duck.run(`CREATE OR REPLACE TABLE penguins AS SELECT * FROM read_json_auto('${join(data, 'penguins.json')}')`);
  return 'penguins';
}

async function weather(duck: Duck): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-any-schema-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(tmp, 'store')).toString());
  const spec = parseSourceSpec({ uri: `${pathToFileURL(data).toString()}/seattle-weather.c?v`, label: 'weather', time: 'date' });
  const source = await resolveSource(duck, { store }, spec, { tmpDir: tmp });
  await duck.run(`CREATE OR REPLACE TABLE weather AS SELECT * FROM ${source.sql}`);
  return 'weather';
}

const penguinsSpec = parseValidationSpec({
  dataset: 'penguins',
  rowCount: { min: 300 },
  allowExtraColumns: false,
  columns: {
    Species: { type: 'string', nullable: false, allowed: ['Adelie', 'Chinstrap', 'Gentoo'] },
    Island: { type: 'string', nullable: false, maxUnseenShare: 0.05 },
    'Beak Length (mm)': { type: 'float', maxNullRatio: 0.005, min: 30, max: 60 },
    'Beak Depth (mm)': { type: 'float', min: 13, max: 22 },
    'Flipper Length (mm)': { type: 'float', min: 170, max: 235 },
    'Body Mass (g)': { type: 'integer', min: 2500, max: 6500 },
    Sex: { type: 'string', pattern: '^(MALE|FEMALE)$' },
  },
});

describe('penguins (JSON, names with spaces, nulls)', () => {
  it('profiles every column by its type', async () => {
    await withDuck(async (duck) => {
      const from = await penguins(duck);
      const features = await inferProfileFeatures(duck, from);
      expect(features).toEqual([
        { name: 'Species', kind: 'categorical' },
        { name: 'Island', kind: 'categorical' },
        { name: 'Beak Length (mm)', kind: 'numeric' },
        { name: 'Beak Depth (mm)', kind: 'numeric' },
        { name: 'Flipper Length (mm)', kind: 'numeric' },
        { name: 'Body Mass (g)', kind: 'numeric' },
        { name: 'Sex', kind: 'categorical' },
      ]);
      expect(await profileFeaturesFor(duck, from)).toEqual(features);
      const profile = await profileTable(duck, { from, source: 'penguins.json', features });
      expect(profile.rows).toBe(344);
      const species = profile.features.Species as CategoricalProfile;
      expect(species.top).toEqual([
        { value: 'Adelie', count: 152 },
        { value: 'Gentoo', count: 124 },
        { value: 'Chinstrap', count: 68 },
      ]);
      const sex = profile.features.Sex as CategoricalProfile;
      expect(sex.top.map((t) => t.value)).toEqual(['MALE', 'FEMALE', '.']);
      const mass = profile.features['Body Mass (g)'] as NumericProfile;
      expect(mass).toMatchObject({ count: 344, nulls: 2, min: 2700, max: 6300 });
      const [sql] = await duck.all<{ mean: number }>(`SELECT avg("Body Mass (g)") AS mean FROM penguins`);
      expect(mass.mean).toBeCloseTo(sql!.mean, 9);
      expect(mass.histogram.counts.reduce((a, b) => a + b, 0)).toBe(342);
    });
  });

  it('validates: names the stray category, and a null ratio over its bound', async () => {
    await withDuck(async (duck) => {
      const from = await penguins(duck);
      const report = await validateTable(duck, { from, spec: penguinsSpec, subject: 'penguins.json' });
      expect(report.problems.map((p) => [p.severity, p.rule, p.column])).toEqual([
        ['error', 'null_ratio', 'Beak Length (mm)'],
        ['error', 'pattern', 'Sex'],
      ]);
      expect(report.problems[1]!.message).toBe('column Sex has 1 values not matching /^(MALE|FEMALE)$/ (e.g. .)');
      expect(report.summary).toMatch(/^penguins penguins\.json: 2 hard violations — column Beak Length \(mm\) null ratio 0\.581%/);
    });
  });

  it('checks unseen categories against a reference profile of another island', async () => {
    await withDuck(async (duck) => {
      await penguins(duck);
      const features = await inferProfileFeatures(duck, 'penguins');
      const reference = await profileTable(duck, { from: `(SELECT * FROM penguins WHERE Island <> 'Dream')`, source: 'ref', features });
      const report = await validateTable(duck, {
        from: 'penguins',
        spec: parseValidationSpec({ dataset: 'penguins', columns: { Island: { type: 'string', maxUnseenShare: 0.05 } } }),
        subject: 'all islands',
        reference,
      });
      const unseen = report.problems.find((p) => p.rule === 'unseen_categories')!;
      expect(unseen).toMatchObject({ severity: 'error', column: 'Island', observed: { rows: 124, distinct: 1, examples: ['Dream'] } });
    });
  });
});

describe('Seattle weather (CSV through a source spec, a DATE time column)', () => {
  it('profiles the time column as its weekday and month, the rest by type', async () => {
    await withDuck(async (duck) => {
      const from = await weather(duck);
      const features = await inferProfileFeatures(duck, from, { time: 'date' });
      expect(features.map((f) => `${f.name}:${f.kind}`)).toEqual([
        'date.day_of_week:numeric',
        'date.month:numeric',
        'precipitation:numeric',
        'temp_max:numeric',
        'temp_min:numeric',
        'wind:numeric',
        'weather:categorical',
      ]);
      // Without a time column, a date is profiled as epoch seconds, as before.
      expect((await defaultFeatures(duck, from))[0]).toEqual({ name: 'date', kind: 'numeric', sql: 'epoch("date")' });
      const profile = await profileTable(duck, { from, source: 'seattle-weather.csv', features });
      expect(profile.rows).toBe(1461);
      const month = profile.features['date.month'] as NumericProfile;
      expect(month.histogram.edges).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
      // Four years: 4 × 31 Januaries, 3 × 28 + 29 Februaries.
      expect(month.histogram.counts.slice(0, 2)).toEqual([124, 113]);
      const dow = profile.features['date.day_of_week'] as NumericProfile;
      expect(dow.ecdf).toMatchObject({ values: [0, 1, 2, 3, 4, 5, 6], exact: true });
      expect((profile.features.weather as CategoricalProfile).top[0]).toEqual({ value: 'rain', count: 641 });
    });
  });

  it('validates dates against ISO bounds and categories against an allowed set', async () => {
    await withDuck(async (duck) => {
      const from = await weather(duck);
      const spec = parseValidationSpec({
        dataset: 'seattle-weather',
        columns: {
          date: { type: 'timestamp', nullable: false, min: '2012-01-01T00:00:00', max: '2015-06-30T00:00:00' },
          precipitation: { type: 'float', min: 0 },
          weather: { type: 'string', allowed: ['drizzle', 'rain', 'sun', 'snow'] },
        },
      });
      const report = await validateTable(duck, { from, spec, subject: 'seattle-weather.csv' });
      expect(report.problems.map((p) => `${p.severity} ${p.rule} ${p.column ?? ''}`)).toEqual([
        'warning extra_column temp_max',
        'warning extra_column temp_min',
        'warning extra_column wind',
        'error range date',
        'error allowed weather',
      ]);
      expect(report.problems[3]!.message).toContain('184 values out of range');
      expect(report.problems[4]!.message).toBe('column weather has 101 values outside the allowed set (e.g. fog)');
    });
  });

  it('refuses a time column that is missing or not a date', async () => {
    await withDuck(async (duck) => {
      const from = await weather(duck);
      await expect(inferProfileFeatures(duck, from, { time: 'day' })).rejects.toThrow(
        'time column day is not in the data (columns: date, precipitation, temp_max, temp_min, wind, weather)',
      );
      await expect(inferProfileFeatures(duck, from, { time: 'weather' })).rejects.toThrow(
        'time column weather has type VARCHAR; it needs DATE or TIMESTAMP',
      );
    });
  });
});

describe('flights through the generic path', () => {
  it('the generic time parts give the statistics of hand-written hour and weekday definitions', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE jan AS SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE date < TIMESTAMP '2001-01-08'`);
      const generic = await inferProfileFeatures(duck, 'jan', { time: 'date' });
      expect(generic.map((f) => f.name)).toEqual([
        'date.hour',
        'date.day_of_week',
        'date.month',
        'delay',
        'distance',
        'origin',
        'destination',
      ]);
      const flights = await profileTable(duck, { from: 'jan', source: 's', features: FLIGHTS_PROFILE_FEATURES });
      const any = await profileTable(duck, { from: 'jan', source: 's', features: generic });
      expect(any.features['date.hour']).toEqual(flights.features.hour);
      expect(any.features['date.day_of_week']).toEqual(flights.features.day_of_week);
      for (const name of ['delay', 'distance', 'origin', 'destination']) expect(any.features[name]).toEqual(flights.features[name]);
      expect(await defaultFeatures(duck, 'jan')).toEqual([
        { name: 'date', kind: 'numeric', sql: 'epoch("date")' },
        { name: 'delay', kind: 'numeric' },
        { name: 'distance', kind: 'numeric' },
        { name: 'origin', kind: 'categorical' },
        { name: 'destination', kind: 'categorical' },
      ]);
    });
  }, 60_000);
});
