// One drift-monitor check: the champion and its training profile (the reference), the recent
// prediction-log window, drift statistics and SLOs, the verdict, and the report (JSON + HTML) in
// the artifact store. Anything that means "cannot judge now" (no champion, no reference profile,
// too few predictions) is a reported status, never a failure, so the monitor keeps running.
import type { Database } from '../db/index.ts';
import { compareProfiles, type DriftOptions, type DriftReport } from '../data/drift/index.ts';
import { datasetPrefix } from '../data/ingest.ts';
import type { DatasetProfile } from '../data/profile-types.ts';
import { ALIASES, findAlias, type ModelRegistry, type ModelVersion } from '../registry/index.ts';
import { FEATURE_SPEC_TAG } from '../registry/tags.ts';
import { durationMs } from '../model-spec/duration.ts';
import { modelIO, readFittedFeatures, type ModelIO } from '../features/tabular/model-io.ts';
import { FittedFeaturesError } from '../features/tabular/state.ts';
import { ArtifactNotFoundError, getJson, putJson, type ArtifactStore } from '../storage/index.ts';
import { renderDriftReport } from './drift-report-html.ts';
import { LABEL_PROFILE_NAME, profileDefinitionsForFeatures, profileKey } from '../data/feature-profile.ts';
import { labelReference, sloMetrics } from './labels.ts';
import { sloReason, type DriftCheckReport } from './report.ts';
import { profileWindow, readWindow, type WindowRow } from './window.ts';
import {
  LEGACY_MONITOR_DATASET,
  type CheckDriftInput,
  type DriftCheckSummary,
  type MonitorSpec,
  type SloMetrics,
  type SloResult,
} from '../contracts/drift-monitor.ts';

export interface DriftCheckDeps {
  db: Database;
  store: ArtifactStore;
  registry: ModelRegistry;
  /** @default () => new Date() */
  now?: () => Date;
}

/** The SLOs the spec declares, judged against the window's metrics. Online quality is judged
 * per task (AUC binary, accuracy multiclass, RMSE regression); an SLO of another task is not
 * judged. */
export function judgeSlos(metrics: SloMetrics, slo: MonitorSpec['slo']): SloResult[] {
  const results: SloResult[] = [];
  const add = (name: SloResult['name'], observed: number | null, limit: number | undefined, worse: (o: number, l: number) => boolean) => {
    if (limit === undefined) return;
    results.push({ name, observed, limit, judged: observed !== null, breached: observed !== null && worse(observed, limit) });
  };
  add('p99LatencyMs', metrics.p99LatencyMs, slo.p99LatencyMs, (o, l) => o > l);
  add('maxErrorRate', metrics.errorRate, slo.maxErrorRate, (o, l) => o > l);
  add('minAuc', metrics.auc, slo.minAuc, (o, l) => o < l);
  add('minAccuracy', metrics.accuracy ?? null, slo.minAccuracy, (o, l) => o < l);
  add('maxRmse', metrics.rmse ?? null, slo.maxRmse, (o, l) => o > l);
  add('maxLabelShift', metrics.labelShift ?? null, slo.maxLabelShift, (o, l) => o > l);
  add('maxPredictionShift', metrics.predictionShift ?? null, slo.maxPredictionShift, (o, l) => o > l);
  return results;
}

export function driftOptionsOf(monitor: MonitorSpec): DriftOptions {
  const { numericMethod, categoricalMethod, thresholds, driftShare } = monitor.drift;
  return {
    ...(numericMethod ? { numericMethod } : {}),
    ...(categoricalMethod ? { categoricalMethod } : {}),
    ...(thresholds ? { thresholds } : {}),
    ...(driftShare !== undefined ? { driftShare } : {}),
    // The window's own sample guard: a feature with minSamples values is compared.
    minSamples: monitor.minSamples,
  };
}

export function referenceProfileKey(dataset: string, datasetVersion: string): string {
  return `${datasetPrefix(dataset, datasetVersion)}/profile.json`;
}

export function checkPrefix(model: string, checkId: string): string {
  return `monitoring/${model}/${checkId}`;
}

/** The champion's training profile: the one prepare wrote for its feature spec and label, else (a
 * champion trained before profiles were keyed by model) the dataset version's unkeyed profile. */
async function referenceOf(
  store: ArtifactStore,
  dataset: string,
  champion: ModelVersion,
  io: ModelIO | null,
): Promise<{ profile: DatasetProfile | null; key: string }> {
  const version = champion.lineage.datasetVersion;
  const keys = io
    ? [
        profileKey(dataset, version, {
          features: io.fitted.spec,
          task: io.task.kind,
          ...(io.fitted.label !== undefined ? { label: io.fitted.label } : {}),
        }),
      ]
    : [];
  keys.push(referenceProfileKey(dataset, version));
  for (const key of keys) {
    try {
      return { profile: await getJson<DatasetProfile>(store, key), key };
    } catch (err) {
      if (!(err instanceof ArtifactNotFoundError)) throw err;
    }
  }
  return { profile: null, key: keys[0]! };
}

/** The champion's fitted features (its task, inputs and feature spec), from its feature-spec tag;
 * null for a version without one (then the window's raw columns are compared, as a binary model). */
async function championIO(store: ArtifactStore, champion: ModelVersion): Promise<ModelIO | null> {
  const uri = champion.tags[FEATURE_SPEC_TAG];
  return uri ? modelIO(await readFittedFeatures(store, uri)) : null;
}

/** `drift.features` may name spec features or profiled columns: a feature name stands for the
 * profile features computed from it (its source column, or its datetime parts). */
function watched(io: ModelIO | null, only: readonly string[] | undefined): readonly string[] | undefined {
  if (!io) return only;
  const defs = profileDefinitionsForFeatures(io.fitted.spec);
  if (!only) return defs.map((d) => d.name);
  const out = new Set<string>();
  for (const name of only) {
    if (defs.some((d) => d.name === name)) out.add(name);
    for (const f of io.fitted.spec.features.filter((x) => x.name === name)) {
      for (const d of profileDefinitionsForFeatures({ features: [f] })) out.add(d.name);
    }
  }
  return [...out];
}

function pick(profile: DatasetProfile, names: readonly string[]): DatasetProfile {
  return { ...profile, features: Object.fromEntries(names.flatMap((n) => (profile.features[n] ? [[n, profile.features[n]]] : []))) };
}

/** A surge of never-seen categories is a data problem on its own (a new upstream code, a broken
 * join): it breaches whatever share of the other features drifted, so one flooded column among many
 * is not diluted below `driftShare`. */
function unseenReasons(drift: DriftReport): string[] {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return drift.features
    .filter((f) => f.unseenDrifted)
    .map(
      (f) =>
        `unseen ${f.feature}: ${pct(f.stats.unseenShare ?? 0)} of the window is outside the reference's categories (reference ${pct(f.stats.unseenBaseline ?? 0)}, limit +${pct(f.unseenThreshold ?? 0)})`,
    );
}

export async function runDriftCheck(deps: DriftCheckDeps, input: CheckDriftInput): Promise<DriftCheckSummary> {
  const { model, monitor, checkId } = input;
  const dataset = input.dataset ?? LEGACY_MONITOR_DATASET;
  const at = (deps.now?.() ?? new Date()).toISOString();
  const empty: SloMetrics = { samples: 0, p99LatencyMs: null, errorRate: null, labels: 0, auc: null, positiveRate: null };
  const base = {
    checkId,
    at,
    breach: false,
    championVersion: null,
    reference: null,
    samples: 0,
    drift: null,
    slo: empty,
  } satisfies Partial<DriftCheckSummary>;

  const champion = await findAlias(deps.registry, model, ALIASES.champion);
  if (!champion) return { ...base, status: 'no-champion', reasons: [`${model} has no champion yet`] };
  const withChampion = { ...base, championVersion: champion.version, reference: champion.lineage.datasetVersion };
  let io: ModelIO | null;
  try {
    io = await championIO(deps.store, champion);
  } catch (err) {
    if (!(err instanceof ArtifactNotFoundError || err instanceof FittedFeaturesError)) throw err;
    return { ...withChampion, status: 'no-reference', reasons: [`the fitted features of v${champion.version}: ${err.message}`] };
  }
  const { profile: referenceFull, key: referenceKey } = await referenceOf(deps.store, dataset, champion, io);
  if (!referenceFull) {
    return {
      ...withChampion,
      status: 'no-reference',
      reasons: [`no training profile at ${referenceKey} for v${champion.version}`],
    };
  }
  const task = io?.task.kind ?? 'binary';
  const rows: WindowRow[] = await readWindow(deps.db, { model, version: champion.version, windowMs: durationMs(monitor.window), task });
  const metrics = sloMetrics(rows, monitor.slo.minLabels, task, labelReference(referenceFull, task));
  // Every feature of the champion's spec (by default) that the reference profiled and the logged
  // requests carry, computed as the reference computed it; the label is judged apart.
  const window = await profileWindow(rows, referenceFull, `prediction-log ${model} v${champion.version} ${at} (${monitor.window})`, {
    ...(io ? { definitions: profileDefinitionsForFeatures(io.fitted.spec), inputs: io.inputs } : {}),
    only: (watched(io, monitor.drift.features) ?? Object.keys(referenceFull.features)).filter((n) => n !== LABEL_PROFILE_NAME),
    minRows: monitor.minSamples,
  });
  const reference = pick(
    referenceFull,
    window.features.map((f) => f.name),
  );
  const current = window.current;
  let summary: DriftCheckSummary;
  let drift: DriftReport | null = null;
  let slos: SloResult[] = [];
  if (!current) {
    summary = {
      ...withChampion,
      status: 'insufficient-data',
      samples: rows.length,
      slo: metrics,
      reasons: [`${rows.length} predictions in the last ${monitor.window}, ${monitor.minSamples} needed`],
    };
  } else {
    drift = compareProfiles(reference, current, driftOptionsOf(monitor));
    slos = judgeSlos(metrics, monitor.slo);
    const reasons = [
      ...(drift.drifted ? [`data drift: ${drift.summary}`] : []),
      ...unseenReasons(drift),
      ...slos.filter((s) => s.breached).map(sloReason),
    ];
    const { drifted, share, driftShare, compared, driftedFeatures } = drift;
    summary = {
      ...withChampion,
      status: reasons.length > 0 ? 'breach' : 'ok',
      breach: reasons.length > 0,
      reasons,
      samples: rows.length,
      slo: metrics,
      drift: { drifted, share, driftShare, compared, driftedFeatures, summary: drift.summary },
    };
  }

  const prefix = checkPrefix(model, checkId);
  const json = await putJson(deps.store, `${prefix}/drift.json`, {
    summary,
    monitor,
    slos,
    drift,
    reference,
    current,
  } satisfies DriftCheckReport);
  const html = await deps.store.put(
    `${prefix}/drift.html`,
    await renderDriftReport({ summary, monitor, slos, drift, reference, current }),
    { contentType: 'text/html; charset=utf-8' },
  );
  return { ...summary, reportUri: json.uri, htmlUri: html.uri };
}
