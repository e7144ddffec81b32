// Profiles from the feature spec: one profile feature per thing the model reads, named by the rule
// the drift settings use (source column for numbers and categories, feature name for calendar
// parts), the label as `__label`, and the same statistics over a prediction log's JSON text as
// over the typed table.
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { LABEL_PROFILE_NAME, profileDefinitionsForFeatures, profileKey } from '../../lib/data/feature-profile.ts';
import { profileDatasetVersion, profileFeaturesFor } from '../../lib/data/prepare.ts';
import { inferProfileFeatures, profileTable } from '../../lib/data/profile.ts';
import { fitFeatures } from '../../lib/features/tabular/fit.ts';
import { loadFeatureSpec, parseFeatureSpec } from '../../lib/features/tabular/spec.ts';
import { byoDataset } from './helpers/byo-prepare-table.ts';

const features = parseFeatureSpec({
  features: [
    { name: 'when', kind: 'datetime', parts: ['hour', 'dayOfWeek', 'month', 'dayOfMonth'] },
    { name: 'wind_scaled', kind: 'numeric', column: 'wind' },
    { name: 'wind_log', kind: 'numeric', column: 'wind', log1p: true },
    { name: 'city', kind: 'categorical' },
    { name: 'windy', kind: 'boolean' },
  ],
});

describe('profileDefinitionsForFeatures', () => {
  it('names the flights example by hour, dow, distance, origin, destination', async () => {
    const spec = await loadFeatureSpec('examples/flights/features.yaml');
    const names = profileDefinitionsForFeatures(spec).map((d) => d.name);
    expect(names).toEqual(['hour', 'dow', 'distance', 'origin', 'destination']);
    // The flights demo's drift settings watch names the profile has.
    for (const watched of ['hour', 'distance', 'origin', 'destination']) expect(names).toContain(watched);
  });

  it('gives each datetime part of a multi-part feature its own name, profiles a column once, adds the label', () => {
    const defs = profileDefinitionsForFeatures(features, { label: 'sky', task: 'multiclass' });
    expect(defs.map((d) => [d.name, d.kind])).toEqual([
      ['when.hour', 'numeric'],
      ['when.dayOfWeek', 'numeric'],
      ['when.month', 'numeric'],
      ['when.dayOfMonth', 'numeric'],
      ['wind', 'numeric'],
      ['city', 'categorical'],
      ['windy', 'numeric'],
      [LABEL_PROFILE_NAME, 'categorical'],
    ]);
    expect(defs.find((d) => d.name === 'when.hour')).toMatchObject({ bins: 24, range: [0, 24] });
    expect(defs.find((d) => d.name === 'when.dayOfWeek')).toMatchObject({ sql: 'isodow(TRY_CAST("when" AS TIMESTAMP)) - 1', bins: 7 });
    expect(profileDefinitionsForFeatures(features, { label: { expression: 'late = 1' }, task: 'binary' }).at(-1)).toMatchObject({
      name: '__label',
      kind: 'numeric',
      range: [0, 2],
    });
  });

  it('profiles a prediction log of JSON text exactly like the typed table', async () => {
    await withDuck(async (duck) => {
      const { manifest } = await byoDataset(duck);
      const defs = profileDefinitionsForFeatures(features);
      const typed = await profileTable(duck, { from: 'dataset_rows', source: manifest.datasetVersion, features: defs });
      // What a prediction log holds: each request's input columns as JSON; timestamps as naive ISO text.
      await duck.run(`CREATE TEMP TABLE log AS
        SELECT json_object('when', strftime("when", '%Y-%m-%dT%H:%M:%S'), 'wind', wind, 'city', city, 'windy', windy) AS features
        FROM dataset_rows`);
      const columns = ['when', 'wind', 'city', 'windy'].map((c) => `json_extract_string(features, '$.${c}') AS "${c}"`).join(', ');
      const window = await profileTable(duck, { from: `(SELECT ${columns} FROM log)`, source: 'window', features: defs, reference: typed });
      expect(window.features).toEqual(typed.features);
      expect(typed.features['when.hour']).toMatchObject({ min: 0, max: 23, nulls: 0 });
      expect(typed.features.windy).toMatchObject({ kind: 'numeric', min: 0, max: 1 });
    });
  });

  it('profiles a dataset version from the spec, and falls back to the columns without one', async () => {
    await withDuck(async (duck) => {
      const { store, manifest } = await byoDataset(duck);
      const { profile, profileUri } = await profileDatasetVersion(duck, store, manifest, undefined, undefined, {
        features,
        label: 'temp',
        task: 'regression',
        time: 'when',
      });
      expect(Object.keys(profile.features)).toEqual([
        'when.hour',
        'when.dayOfWeek',
        'when.month',
        'when.dayOfMonth',
        'wind',
        'city',
        'windy',
        '__label',
      ]);
      expect(profile.features.__label).toMatchObject({ kind: 'numeric', min: 10, max: 14 });
      // Where the drift monitor looks for it: from the champion's fitted features, which carry the
      // same spec (as parsed) and the label's text.
      const fitted = await fitFeatures(duck, 'dataset_rows', features);
      expect(profileUri).toBe(
        store.uriFor(profileKey('byo', manifest.datasetVersion, { features: fitted.spec, label: 'temp', task: 'regression' })),
      );
      // Another task on the same label profiles `__label` differently, so it keeps its own file.
      expect(profileKey('byo', manifest.datasetVersion, { features: fitted.spec, label: 'temp', task: 'multiclass' })).not.toBe(
        profileKey('byo', manifest.datasetVersion, { features: fitted.spec, label: 'temp', task: 'regression' }),
      );
      const expression = profileKey('byo', manifest.datasetVersion, { features, label: { expression: 'temp * 2' } });
      expect(expression).toBe(profileKey('byo', manifest.datasetVersion, { features: fitted.spec, label: 'temp * 2' }));
      expect(profileUri).toMatch(/profile-[0-9a-f]{16}\.json$/);
      // No task: a text label is profiled as classes.
      const guessed = await profileFeaturesFor(duck, 'dataset_rows', { features, label: 'sky' });
      expect(guessed.at(-1)).toMatchObject({ name: '__label', kind: 'categorical' });
      // No feature spec (an input from before it): the table's columns, never a dataset's own list.
      expect(await profileFeaturesFor(duck, 'dataset_rows', { time: 'when' })).toEqual(
        await inferProfileFeatures(duck, 'dataset_rows', { time: 'when' }),
      );
    });
  });
});
