// One drift check end to end on embedded stores (PGlite prediction log and registry, local
// artifact store): drifted traffic breaches, control traffic does not, too few predictions are
// reported as such, and the report (JSON + self-contained HTML with per-feature histograms) is
// written beside the check.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { checkPrefix, judgeSlos, referenceProfileKey, runDriftCheck } from '../../lib/monitor/check.ts';
import { labelReference } from '../../lib/monitor/labels.ts';
import type { DriftCheckReport } from '../../lib/monitor/report.ts';
import { sloMetrics } from '../../lib/monitor/window.ts';
import { BuiltinRegistry, FEATURE_SPEC_TAG } from '../../lib/registry/index.ts';
import { monitorSpecSchema } from '../../lib/model-spec/model-spec.ts';
import { getJson, LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import { numericProfile } from './helpers/profile-from-arrays.ts';
import { drifted, januaryTraffic, type FlightRequest } from './helpers/drift-traffic.ts';

let db: PGliteDatabase;
let store: LocalArtifactStore;
let registry: BuiltinRegistry;
let control: FlightRequest[];
/** The champion's fitted features (the flights example's spec, fitted on the reference rows). */
let featureSpecUri: string;
const monitor = monitorSpecSchema.parse({
  window: '10m',
  minSamples: 300,
  // Spec feature names (`dow`, `distance_scaled`) or profiled columns (`hour`, `origin`).
  drift: { features: ['hour', 'dow', 'distance_scaled', 'origin'] },
  slo: { p99LatencyMs: 50, minLabels: 100 },
});

async function model(name: string, withChampion = true): Promise<void> {
  const v = await registry.createVersion({
    model: name,
    runId: `run-${name}`,
    artifactUri: 'file:///nowhere/model.onnx',
    lineage: { datasetVersion: 'fixture', featureSpecHash: 'h', params: {} },
    tags: { [FEATURE_SPEC_TAG]: featureSpecUri },
  });
  if (withChampion) await registry.setAlias(name, 'champion', v.version, { actor: 'test', reason: 'test' });
}

async function log(name: string, instances: readonly FlightRequest[], latencyMs = 2, ageMs = 0): Promise<void> {
  const requestId = randomUUID();
  for (const [i, f] of instances.entries()) {
    await db.query(
      `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, features, output, latency_ms, created_at) VALUES ($1, $2, $3, 1, false, $4, $5, $6, now() - ($7::double precision * interval '1 millisecond'))`,
      [requestId, i, name, JSON.stringify(f), 0.2, latencyMs, ageMs],
    );
  }
}

beforeAll(async () => {
  db = await PGliteDatabase.create(await mkdtemp(join(tmpdir(), 'flywheel-monitor-')));
  await migrate(db);
  registry = new BuiltinRegistry(db);
  store = await LocalArtifactStore.create(`file://${await mkdtemp(join(tmpdir(), 'flywheel-monitor-store-'))}`);
  const traffic = await januaryTraffic(20_000, 600);
  control = traffic.control;
  featureSpecUri = (await putJson(store, 'fixture/features.json', traffic.fitted)).uri;
  await putJson(store, referenceProfileKey('flights', 'fixture'), traffic.reference);
}, 120_000);
afterAll(async () => db?.close());

describe('runDriftCheck', () => {
  it('drifted traffic breaches; the report names the drifted features and draws reference vs recent histograms', async () => {
    await model('drifty');
    await log('drifty', drifted(control));
    await log('drifty', control.slice(0, 100), 2, 3_600_000); // outside the window: ignored
    const summary = await runDriftCheck({ db, store, registry }, { model: 'drifty', checkId: 'c1', monitor });
    expect(summary).toMatchObject({ status: 'breach', breach: true, championVersion: 1, reference: 'fixture', samples: 600 });
    expect(summary.drift?.driftedFeatures).toEqual(expect.arrayContaining(['distance', 'hour']));
    expect(summary.reasons[0]).toMatch(/^data drift: /);
    expect(summary.reportUri).toBe(store.uriFor(`${checkPrefix('drifty', 'c1')}/drift.json`));
    const report = await getJson<DriftCheckReport>(store, `${checkPrefix('drifty', 'c1')}/drift.json`);
    expect(report.drift?.features.map((f) => f.feature)).toEqual(['hour', 'dow', 'distance', 'origin']);
    expect(report.current?.features.distance).toMatchObject({
      kind: 'numeric',
      histogram: { edges: (report.reference?.features.distance as { histogram: { edges: number[] } }).histogram.edges },
    });
    const html = new TextDecoder().decode(await store.get(`${checkPrefix('drifty', 'c1')}/drift.html`));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.match(/<svg/g)).toHaveLength(4);
    expect(html).toContain('Breach: data drift');
    expect(html).not.toMatch(/<script/i);
  });

  it('control traffic from the training month does not breach', async () => {
    await model('steady');
    await log('steady', control);
    const summary = await runDriftCheck({ db, store, registry }, { model: 'steady', checkId: 'c1', monitor });
    expect(summary, JSON.stringify(summary.drift)).toMatchObject({ status: 'ok', breach: false, reasons: [], samples: 600 });
    expect(summary.drift?.compared).toBe(4);
  });

  it('watches every request feature by default, airports included: a 30% flood of never-seen airports breaches', async () => {
    // 2 of the 5 request features drift under a flood of airports, so the share is set to 0.4.
    const every = monitorSpecSchema.parse({ window: '10m', minSamples: 300, drift: { driftShare: 0.4 } });
    await model('all-steady');
    await log('all-steady', control);
    const steady = await runDriftCheck({ db, store, registry }, { model: 'all-steady', checkId: 'c1', monitor: every });
    expect(steady, JSON.stringify(steady.drift)).toMatchObject({ status: 'ok', breach: false, drift: { compared: 5 } });

    await model('all-flood');
    await log(
      'all-flood',
      control.map((f, i) => (i % 10 < 3 ? { ...f, origin: `Q${i % 40}`, destination: `R${i % 40}` } : f)),
    );
    const flooded = await runDriftCheck({ db, store, registry }, { model: 'all-flood', checkId: 'c1', monitor: every });
    expect(flooded).toMatchObject({ status: 'breach', breach: true, drift: { compared: 5 } });
    expect(flooded.drift?.driftedFeatures.sort()).toEqual(['destination', 'origin']);
    const report = await getJson<DriftCheckReport>(store, `${checkPrefix('all-flood', 'c1')}/drift.json`);
    const origin = report.drift?.features.find((f) => f.feature === 'origin');
    expect(origin).toMatchObject({ drifted: true, unseenDrifted: true, stats: { unseenShare: 0.3 } });
  });

  it('a flood of never-seen airports breaches at the default driftShare, though only 2 of 5 features drift', async () => {
    const defaults = monitorSpecSchema.parse({ window: '10m', minSamples: 300 });
    await model('default-flood');
    await log(
      'default-flood',
      control.map((f, i) => (i % 10 < 3 ? { ...f, origin: `Q${i % 40}`, destination: `R${i % 40}` } : f)),
    );
    const flooded = await runDriftCheck({ db, store, registry }, { model: 'default-flood', checkId: 'c1', monitor: defaults });
    expect(flooded).toMatchObject({ status: 'breach', breach: true, drift: { compared: 5, drifted: false, driftShare: 0.5 } });
    const unseen = flooded.reasons.filter((r) => r.startsWith('unseen '));
    expect(unseen.map((r) => r.split(':')[0]).sort()).toEqual(['unseen destination', 'unseen origin']);
    expect(unseen[0]).toMatch(/30\.0% of the window is outside the reference's categories/);
  });

  it('an SLO breach counts like drift', async () => {
    await model('slow');
    await log('slow', control, 80);
    const summary = await runDriftCheck({ db, store, registry }, { model: 'slow', checkId: 'c1', monitor });
    expect(summary).toMatchObject({ status: 'breach', breach: true, reasons: ['SLO p99 latency (ms): 80 > 50'] });
  });

  it('too few predictions, no champion, or no training profile judge nothing (and do not throw)', async () => {
    await model('quiet');
    await log('quiet', control.slice(0, 50));
    expect(await runDriftCheck({ db, store, registry }, { model: 'quiet', checkId: 'c1', monitor })).toMatchObject({
      status: 'insufficient-data',
      breach: false,
      samples: 50,
      reasons: ['50 predictions in the last 10m, 300 needed'],
    });
    await model('unserved', false);
    expect(await runDriftCheck({ db, store, registry }, { model: 'unserved', checkId: 'c1', monitor })).toMatchObject({
      status: 'no-champion',
      breach: false,
    });
    expect(await runDriftCheck({ db, store, registry }, { model: 'quiet', dataset: 'other', checkId: 'c2', monitor })).toMatchObject({
      status: 'no-reference',
      breach: false,
    });
  });
});

describe('SLO metrics', () => {
  const row = (output: number, latencyMs: number, label: number | null = null) => ({ features: {}, output, latencyMs, label });

  it('p99 latency, error rate as the share of non-finite outputs, AUC only with enough labels of both classes', () => {
    const rows = [...Array.from({ length: 99 }, (_, i) => row(i / 100, 1, i >= 50 ? 1 : 0)), row(NaN, 500)];
    const m = sloMetrics(rows, 50);
    expect(m).toMatchObject({ samples: 100, p99LatencyMs: 1, errorRate: 0.01, labels: 99, auc: 1 });
    expect(sloMetrics(rows, 100).auc).toBeNull();
    expect(
      sloMetrics(
        rows.map((r) => ({ ...r, label: r.label === null ? null : 1 })),
        50,
      ).auc,
    ).toBeNull();
    expect(judgeSlos(m, { minLabels: 50, maxErrorRate: 0.005, minAuc: 0.9 })).toEqual([
      { name: 'maxErrorRate', observed: 0.01, limit: 0.005, judged: true, breached: true },
      { name: 'minAuc', observed: 1, limit: 0.9, judged: true, breached: false },
    ]);
    expect(judgeSlos(sloMetrics([], 1), { minLabels: 1, p99LatencyMs: 10 })).toEqual([
      { name: 'p99LatencyMs', observed: null, limit: 10, judged: false, breached: false },
    ]);
  });

  it('label shift: the window share of positive labels against the training share of `__label`', () => {
    // 25 of 100 training flights left more than 15 minutes late.
    const reference = { source: 'ref', rows: 100, features: { __label: numericProfile([...Array(25).fill(1), ...Array(75).fill(0)]) } };
    const ref = labelReference(reference, 'binary');
    expect(ref).toEqual({ kind: 'binary', positiveRate: 0.25 });
    expect(labelReference({ source: 'x', rows: 0, features: {} }, 'binary')).toBeNull();
    const rows = Array.from({ length: 100 }, (_, i) => row(0.5, 1, i < 10 ? 1 : 0)); // 10% late
    const m = sloMetrics(rows, 50, 'binary', ref);
    expect(m.positiveRate).toBeCloseTo(0.1, 12);
    expect(m.labelShift).toBeCloseTo(0.15, 12);
    expect(m.predictionShift).toBeCloseTo(0.25, 12); // mean P(1) 0.5 vs 0.25
    expect(sloMetrics(rows, 101, 'binary', ref)).toMatchObject({ positiveRate: null, labelShift: null });
    const [shift] = judgeSlos(m, { minLabels: 50, maxLabelShift: 0.1 });
    expect(shift).toMatchObject({ name: 'maxLabelShift', judged: true, breached: true });
    expect(shift!.observed).toBeCloseTo(0.15, 12);
    expect(judgeSlos(m, { minLabels: 50, maxLabelShift: 0.2 })[0]).toMatchObject({ breached: false });
    expect(judgeSlos(sloMetrics(rows, 50, 'binary', null), { minLabels: 50, maxLabelShift: 0.1 })[0]).toMatchObject({
      judged: false,
      breached: false,
    });
  });
});
