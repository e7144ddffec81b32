// Held-out drift tests on real data, through the monitor's own path (the logged request fields
// → profileWindow → compareProfiles with the monitor's options): every feature of the reference
// is watched by default, airports included; unchanged traffic raises no alarm in small or large
// windows; a flood of never-seen categories, a shift between known categories (in a big enough
// window) and a numeric shift are each flagged. Flights (vega-datasets' 3M rows, profiled from the
// example's feature spec) and one table of a model without fitted features (seattle-weather.csv,
// raw columns, with its label left out of the requests).
import { beforeAll, describe, expect, it } from 'vitest';
import { featuresToCompare } from '../../lib/data/compare-features.ts';
import { compareProfiles, type DriftReport, type FeatureDrift } from '../../lib/data/drift/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { defaultFeatures, profileTable, type FeatureDef } from '../../lib/data/profile.ts';
import type { DatasetProfile } from '../../lib/data/profile-types.ts';
import { modelIO } from '../../lib/features/tabular/model-io.ts';
import type { FittedFeatures } from '../../lib/features/tabular/state.ts';
import { driftOptionsOf } from '../../lib/monitor/check.ts';
import { profileDefinitionsForFeatures } from '../../lib/data/feature-profile.ts';
import { loggedColumns, profileWindow, type WindowProfileOptions, type WindowRow } from '../../lib/monitor/window.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { drifted, januaryTraffic, vegaData, type FlightRequest } from './helpers/drift-traffic.ts';

const asRows = (requests: readonly object[]): WindowRow[] =>
  requests.map((features) => ({ features: features as Record<string, unknown>, output: 0.2, latencyMs: 1, label: null }));

/** How the monitor profiles a champion's window: the definitions and input types of its fitted
 * features (flights), or, for a model without them, the raw logged columns. */
function windowOptionsOf(fitted: FittedFeatures | null): WindowProfileOptions {
  if (!fitted) return {};
  const definitions: FeatureDef[] = profileDefinitionsForFeatures(fitted.spec);
  return { definitions, inputs: modelIO(fitted).inputs, only: definitions.map((d) => d.name) };
}

/** One monitor check's drift verdict on `requests`, with the spec's defaults (every feature). */
async function check(reference: DatasetProfile, requests: readonly object[], fitted: FittedFeatures | null): Promise<DriftReport> {
  const monitor = monitorSpecSchema.parse({ minSamples: 200 });
  const { features, current } = await profileWindow(asRows(requests), reference, 'window', windowOptionsOf(fitted));
  const names = features.map((f) => f.name);
  const picked = { ...reference, features: Object.fromEntries(names.map((n) => [n, reference.features[n]!])) };
  return compareProfiles(picked, current!, driftOptionsOf(monitor));
}

const byName = (report: DriftReport): Record<string, FeatureDrift> => Object.fromEntries(report.features.map((f) => [f.feature, f]));
const alarms = (report: DriftReport) => report.features.filter((f) => f.drifted).map((f) => `${f.feature} (${f.score})`);

/** Replaces `share` of the rows' `fields` by categories no reference has seen (every k-th row). */
function flood<T extends object>(rows: readonly T[], fields: readonly string[], share: number): T[] {
  const every = Math.round(1 / share);
  return rows.map((r, i) => (i % every === 0 ? { ...r, ...Object.fromEntries(fields.map((f) => [f, `NEW${i % 37}`])) } : r));
}

describe('drift on every flights feature (January: 20,000 reference rows, held-out windows)', () => {
  let reference: DatasetProfile;
  let fitted: FittedFeatures;
  let control: FlightRequest[];
  const SMALL = 300; // a 60 s window at ~5 requests/s
  const windows = (size: number, count: number, offset = 0) =>
    Array.from({ length: count }, (_, i) => control.slice(offset + i * size, offset + (i + 1) * size));

  beforeAll(async () => {
    ({ reference, fitted, control } = await januaryTraffic(20_000, 20_000));
  }, 120_000);

  it('watches every feature a request carries, airports included, never the label', async () => {
    const report = await check(reference, control.slice(0, SMALL), fitted);
    expect(report.features.map((f) => f.feature)).toEqual(['hour', 'dow', 'distance', 'origin', 'destination']);
    expect(report.compared).toBe(5);
  });

  it('raises no alarm on unchanged traffic, in small and large windows', async () => {
    const cases = [...windows(SMALL, 6), ...windows(1_000, 3, 6 * SMALL), ...windows(5_000, 2, 6 * SMALL + 3_000)];
    for (const w of cases) {
      const report = await check(reference, w, fitted);
      const f = byName(report);
      expect(report.compared).toBe(5);
      expect(report.drifted, report.summary).toBe(false);
      // The airports: the raw distance is over 0.1 from sampling alone in small windows, the
      // effective threshold is over the distance, and no airport is unseen beyond noise.
      for (const airport of [f.origin!, f.destination!]) {
        expect(airport.drifted, `${w.length} rows: ${JSON.stringify(airport)}`).toBe(false);
        expect(airport.unseenDrifted).toBe(false);
      }
      if (w.length >= 1_000) expect(alarms(report), `${w.length} rows`).toEqual([]);
    }
    const small = byName(await check(reference, control.slice(0, SMALL), fitted));
    expect(small.destination!.score).toBeGreaterThan(0.1);
    expect(small.destination!.effectiveThreshold).toBeGreaterThan(small.destination!.score!);
  });

  it('flags a 30% flood of never-seen airports by the unseen share, in every window size', async () => {
    for (const w of [...windows(SMALL, 3), ...windows(5_000, 1, 3 * SMALL)]) {
      const report = await check(reference, flood(w, ['origin', 'destination'], 0.3), fitted);
      const f = byName(report);
      for (const airport of [f.origin!, f.destination!]) {
        expect(airport).toMatchObject({ status: 'ok', drifted: true, unseenDrifted: true });
        expect(airport.stats.unseenShare).toBeCloseTo(0.3, 1);
      }
    }
  });

  it('flags a shift between known airports once the window is big enough', async () => {
    // Half the flights from the ten busiest origins are gone: no new airport, a new mix.
    const busiest = new Set((reference.features.origin as { top: Array<{ value: string }> }).top.slice(0, 10).map((t) => t.value));
    let dropped = 0;
    const shifted = control.filter((f) => !(busiest.has(f.origin) && dropped++ % 2 === 0));
    const big = byName(await check(reference, shifted.slice(0, 10_000), fitted)).origin!;
    expect(big).toMatchObject({ drifted: true, unseenDrifted: false });
    expect(big.score).toBeGreaterThan(big.effectiveThreshold!);
    // A 60 s window cannot tell this shift from sampling noise.
    expect(byName(await check(reference, shifted.slice(0, SMALL), fitted)).origin).toMatchObject({ drifted: false });
  });

  it('flags a numeric shift as before (distances tripled, departures seven hours later)', async () => {
    for (const w of [control.slice(0, SMALL), control.slice(SMALL, SMALL + 5_000)]) {
      const report = await check(reference, drifted(w), fitted);
      // Two of the five features: a dataset verdict at driftShare 0.4, as with today's default
      // feature list (which already had the airports).
      expect(report.driftedFeatures).toEqual(expect.arrayContaining(['distance', 'hour']));
      expect(report.share).toBeGreaterThanOrEqual(0.4);
      expect(byName(report).origin).toMatchObject({ drifted: false });
    }
  });
});

describe('drift on every feature of a non-flights table (seattle-weather.csv, label precipitation)', () => {
  type Day = { date: string; temp_max: number; temp_min: number; wind: number; weather: string };
  let reference: DatasetProfile;
  let heldOut: Day[];

  beforeAll(async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE days AS SELECT * FROM read_csv('${vegaData('seattle-weather.csv')}') ORDER BY hash(date)`);
      await duck.run('CREATE TABLE ref AS SELECT * FROM days LIMIT 1000');
      // As prepareData profiles any table: its raw columns, the label among them.
      reference = await profileTable(duck, { from: 'ref', source: 'seattle', features: await defaultFeatures(duck, 'ref') });
      // Requests carry the features, not the label.
      heldOut = await duck.all<Day>(`SELECT strftime(date, '%Y-%m-%d') AS date, temp_max, temp_min, wind, weather FROM days OFFSET 1000`);
    });
  }, 60_000);

  const windows = () => [heldOut.slice(0, 230), heldOut.slice(230, 460), heldOut];

  it('watches every feature the requests carry, and raises no alarm on unchanged days', async () => {
    for (const w of windows()) {
      const report = await check(reference, w, null);
      expect(report.features.map((f) => f.feature)).toEqual(['date', 'temp_max', 'temp_min', 'wind', 'weather']);
      expect(report.compared).toBe(5);
      expect(report.drifted, report.summary).toBe(false);
      expect(byName(report).weather).toMatchObject({ drifted: false, unseenDrifted: false });
      // Numeric distances keep their fixed 0.1 (docs/drift.md, "Small samples"): at 230 rows one
      // of them may cross it on noise alone (wind scores 0.13 in one window); at 461 none does.
      if (w.length > 400) expect(alarms(report)).toEqual([]);
    }
  });

  it('flags a 30% flood of never-seen weather, and a numeric shift', async () => {
    for (const w of windows()) {
      const flooded = byName(await check(reference, flood(w, ['weather'], 0.3), null));
      expect(flooded.weather).toMatchObject({ drifted: true, unseenDrifted: true });
      const warmer = byName(
        await check(
          reference,
          w.map((d) => ({ ...d, temp_max: d.temp_max + 5 })),
          null,
        ),
      );
      expect(warmer.temp_max).toMatchObject({ drifted: true });
      expect(warmer.weather).toMatchObject({ drifted: false });
    }
  });
});

describe('featuresToCompare and the logged columns', () => {
  const reference = {
    source: 'ref',
    rows: 3,
    features: {
      hour: { kind: 'numeric' },
      price: { kind: 'numeric' },
      shop: { kind: 'categorical' },
      code: { kind: 'categorical' },
    },
  } as unknown as DatasetProfile;

  it('yields every feature of the profile, numeric and categorical, with the definitions given, narrowed by only', () => {
    const hour = { name: 'hour', kind: 'numeric' as const, sql: 'hour(date)' };
    expect(featuresToCompare(reference, { definitions: [hour] })).toEqual([
      hour,
      { name: 'price', kind: 'numeric' },
      { name: 'shop', kind: 'categorical' },
      { name: 'code', kind: 'categorical' },
    ]);
    expect(featuresToCompare(reference, { only: ['shop', 'price', 'nope'] }).map((f) => f.name)).toEqual(['price', 'shop']);
  });

  it('types logged fields from their values; a categorical reference feature stays text', () => {
    const rows = asRows([
      { price: 3, shop: 'a', code: 7, date: '2001-01-01T10:00:00', tags: ['x'] },
      { price: '4.5', shop: 'b', code: 8, date: 'garbage' },
    ]);
    expect(loggedColumns(rows, new Set(['code', 'shop']))).toEqual([
      { name: 'price', type: 'DOUBLE' },
      { name: 'shop', type: 'VARCHAR' },
      { name: 'code', type: 'VARCHAR' },
      { name: 'date', type: 'VARCHAR' },
    ]);
  });
});
