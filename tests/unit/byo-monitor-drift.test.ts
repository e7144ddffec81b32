// Held-out drift through the monitor's own path for models of other tasks: the reference profiled
// from the fitted feature spec (as prepare profiles a split), held-out rows logged as requests,
// the window typed by the model's inputs and profiled with the same definitions. A multiclass
// model (weather.csv → weather) and a regression model (seattle-weather-hourly-normals.csv →
// temperature): unchanged traffic raises no alarm in any window size; a 30% flood of never-seen
// categories and a numeric shift are each flagged in every window size.
import { beforeAll, describe, expect, it } from 'vitest';
import { compareProfiles, type DriftReport, type FeatureDrift } from '../../lib/data/drift/index.ts';
import { modelIO } from '../../lib/features/tabular/model-io.ts';
import type { FeatureSpecInput } from '../../lib/features/tabular/spec.ts';
import { driftOptionsOf } from '../../lib/monitor/check.ts';
import { profileDefinitionsForFeatures } from '../../lib/data/feature-profile.ts';
import { profileWindow, type WindowRow } from '../../lib/monitor/window.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { heldOutTraffic, type HeldOutTraffic } from './helpers/drift-traffic.ts';

type Request = Record<string, unknown>;

const asRows = (requests: readonly Request[]): WindowRow[] =>
  requests.map((features) => ({ features, output: 0.5, latencyMs: 1, label: null }));

/** One monitor check's drift verdict on `requests` with the spec's defaults (every feature). */
async function check(t: HeldOutTraffic, requests: readonly Request[]): Promise<DriftReport> {
  const monitor = monitorSpecSchema.parse({ minSamples: 200 });
  const definitions = profileDefinitionsForFeatures(t.fitted.spec);
  const { features, current } = await profileWindow(asRows(requests), t.reference, 'window', {
    definitions,
    inputs: modelIO(t.fitted).inputs,
    only: definitions.map((d) => d.name),
  });
  const picked = { ...t.reference, features: Object.fromEntries(features.map((f) => [f.name, t.reference.features[f.name]!])) };
  return compareProfiles(picked, current!, driftOptionsOf(monitor));
}

const byName = (report: DriftReport): Record<string, FeatureDrift> => Object.fromEntries(report.features.map((f) => [f.feature, f]));
const alarms = (report: DriftReport) => report.features.filter((f) => f.drifted).map((f) => `${f.feature} (${f.score})`);

/** Replaces every k-th row's `field` (share 1/k) by a category no reference has seen. */
function flood(rows: readonly Request[], field: string, share: number): Request[] {
  const every = Math.round(1 / share);
  return rows.map((r, i) => (i % every === 0 ? { ...r, [field]: `NEW${i % 37}` } : r));
}

const shifted = (rows: readonly Request[], field: string, by: number): Request[] =>
  rows.map((r) => ({ ...r, [field]: (r[field] as number) + by }));

describe('held-out drift of a multiclass model (weather.csv, label weather)', () => {
  const spec: FeatureSpecInput = {
    features: [
      { name: 'location', kind: 'categorical' },
      { name: 'date', kind: 'datetime', parts: ['month', 'dayOfWeek'] },
      { name: 'rain', kind: 'numeric', column: 'precipitation', log1p: true },
      { name: 'temp_max', kind: 'numeric' },
      { name: 'temp_min', kind: 'numeric' },
      { name: 'wind', kind: 'numeric' },
    ],
  };
  let t: HeldOutTraffic;
  // Windows of the monitor's default minSamples (500) or near it: a fixed 0.1 numeric threshold
  // is not noise-aware, and 230 days can sit 0.16 std from the reference on sampling alone.
  const windows = () => [t.requests.slice(0, 461), t.requests.slice(461), t.requests];

  beforeAll(async () => {
    t = await heldOutTraffic({ csv: 'weather.csv', spec, task: 'multiclass', label: 'weather', referenceRows: 2000 });
  }, 60_000);

  it('profiles every feature of the spec by its source column or datetime part, and the label apart', () => {
    expect(Object.keys(t.reference.features)).toEqual([
      'location',
      'date.month',
      'date.dayOfWeek',
      'precipitation',
      'temp_max',
      'temp_min',
      'wind',
      '__label',
    ]);
    expect(t.reference.features.__label).toMatchObject({ kind: 'categorical', count: 2000 });
    expect(t.requests[0]).toEqual({
      location: expect.any(String),
      date: expect.stringMatching(/^\d{4}-\d\d-\d\dT00:00:00$/),
      precipitation: expect.any(Number),
      temp_max: expect.any(Number),
      temp_min: expect.any(Number),
      wind: expect.any(Number),
    });
  });

  it('watches every feature and raises no alarm on unchanged days, in every window size', async () => {
    for (const w of windows()) {
      const report = await check(t, w);
      expect(report.features.map((f) => f.feature)).toEqual([
        'location',
        'date.month',
        'date.dayOfWeek',
        'precipitation',
        'temp_max',
        'temp_min',
        'wind',
      ]);
      expect(report.features.every((f) => f.status === 'ok')).toBe(true);
      expect(report.drifted, report.summary).toBe(false);
      expect(byName(report).location).toMatchObject({ drifted: false, unseenDrifted: false });
      expect(alarms(report), `${w.length} rows`).toEqual([]);
    }
  });

  it('flags a 30% flood of never-seen locations, and warmer days, in every window size', async () => {
    for (const w of windows()) {
      const flooded = byName(await check(t, flood(w, 'location', 0.3)));
      expect(flooded.location, `${w.length} rows`).toMatchObject({ drifted: true, unseenDrifted: true });
      expect(flooded.location!.stats.unseenShare).toBeCloseTo(0.3, 1);
      const warmer = await check(t, shifted(w, 'temp_max', 5));
      expect(byName(warmer).temp_max, `${w.length} rows`).toMatchObject({ drifted: true });
      expect(byName(warmer).location).toMatchObject({ drifted: false });
    }
  });
});

describe('held-out drift of a regression model (seattle-weather-hourly-normals.csv, label temperature)', () => {
  const spec: FeatureSpecInput = {
    features: [
      { name: 'when', kind: 'datetime', column: 'date', parts: ['hour', 'month'] },
      { name: 'pressure', kind: 'numeric' },
      { name: 'wind', kind: 'numeric' },
      { name: 'season', kind: 'categorical' },
    ],
  };
  let t: HeldOutTraffic;
  const windows = () => [t.requests.slice(0, 500), t.requests.slice(500, 1500), t.requests];

  beforeAll(async () => {
    t = await heldOutTraffic({
      csv: 'seattle-weather-hourly-normals.csv',
      spec,
      task: 'regression',
      label: 'temperature',
      referenceRows: 6000,
      // A categorical input: the season of the hour.
      select: `CASE WHEN month(date) IN (12, 1, 2) THEN 'winter' WHEN month(date) IN (3, 4, 5) THEN 'spring'
               WHEN month(date) IN (6, 7, 8) THEN 'summer' ELSE 'autumn' END AS season`,
    });
  }, 60_000);

  it('profiles the datetime parts, the numbers, the category and the numeric label', () => {
    expect(Object.keys(t.reference.features)).toEqual(['when.hour', 'when.month', 'pressure', 'wind', 'season', '__label']);
    expect(t.reference.features['when.hour']).toMatchObject({ kind: 'numeric', min: 0, max: 23 });
    expect(t.reference.features.__label).toMatchObject({ kind: 'numeric', count: 6000 });
  });

  it('raises no alarm on unchanged hours, in every window size', async () => {
    for (const w of windows()) {
      const report = await check(t, w);
      expect(report.compared, `${w.length} rows`).toBe(5);
      expect(report.drifted, report.summary).toBe(false);
      expect(byName(report).season).toMatchObject({ drifted: false, unseenDrifted: false });
      expect(alarms(report), `${w.length} rows`).toEqual([]);
    }
  });

  it('flags a 30% flood of never-seen seasons, and a pressure shift, in every window size', async () => {
    for (const w of windows()) {
      const flooded = byName(await check(t, flood(w, 'season', 0.3)));
      expect(flooded.season, `${w.length} rows`).toMatchObject({ drifted: true, unseenDrifted: true });
      const higher = await check(t, shifted(w, 'pressure', 8));
      expect(byName(higher).pressure, `${w.length} rows`).toMatchObject({ drifted: true });
      expect(byName(higher).season).toMatchObject({ drifted: false });
    }
  });

  it('reads the hour from the naive timestamp the request carries (a later hour is a shift)', async () => {
    const later = t.requests.map((r) => ({ ...r, date: `${(r.date as string).slice(0, 11)}${'03:00:00'}` }));
    const report = byName(await check(t, later));
    expect(report['when.hour']).toMatchObject({ drifted: true });
    expect(report['when.month']).toMatchObject({ drifted: false });
  });
});
