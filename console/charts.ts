// Vega-Lite specs for the console's pages (drift checks over time, a rollout's traffic shares,
// learning curves), rendered to inline SVG on the server by lib/report's renderSvg: no chart library in
// the browser, and a page without JavaScript still shows every chart.
import type { TopLevelSpec } from 'vega-lite';
import type { MonitorSpec } from '../lib/contracts/drift-monitor.ts';
import type { MonitorCheckRecord, RunEpoch } from '../lib/tracking/types.ts';
import { CHART_SIZE, renderSvg, SERIES_COLORS } from '../lib/report/html.ts';
import { trusted, type Html } from './html.ts';

const WIDE = { width: 620, height: 200 };
const BREACH_COLOR = '#d62728';

/** One chart as inline SVG markup for a page. */
export async function chartSvg(spec: TopLevelSpec): Promise<Html> {
  return trusted(await renderSvg(spec));
}

/** A series over the checks' times with an optional limit drawn as a dashed rule. */
function seriesWithLimit(
  title: string,
  rows: Array<{ at: string; value: number; series: string }>,
  limit: number | undefined,
  axisTitle: string,
): TopLevelSpec {
  const limitLayer =
    limit === undefined
      ? []
      : [
          {
            data: { values: [{ limit }] },
            mark: { type: 'rule' as const, color: BREACH_COLOR, strokeDash: [6, 4] },
            encoding: { y: { field: 'limit', type: 'quantitative' as const } },
          },
        ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    ...WIDE,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 'at', type: 'temporal', title: 'check time', axis: { labelAngle: -30 } },
          y: { field: 'value', type: 'quantitative', title: axisTitle },
          color: { field: 'series', type: 'nominal', title: null, scale: { range: [SERIES_COLORS.judged, SERIES_COLORS.baseline] } },
        },
      },
      ...limitLayer,
    ],
  } as TopLevelSpec;
}

/** The share of compared features that drifted at each check, with the share that counts as drift. */
export function driftShareSpec(checks: readonly MonitorCheckRecord[]): TopLevelSpec {
  const rows = checks.flatMap((c) => (c.drift ? [{ at: c.at, value: c.drift.share, series: 'drifted share' }] : []));
  const threshold = checks.findLast((c) => c.drift)?.drift?.driftShare;
  return seriesWithLimit('Drifted feature share (dashed: drift threshold)', rows, threshold, 'share of features');
}

/** A heat strip: which features drifted at which check. */
export function driftedFeaturesSpec(checks: readonly MonitorCheckRecord[]): TopLevelSpec {
  const rows = checks.flatMap((c) => (c.drift?.driftedFeatures ?? []).map((feature) => ({ at: c.at, feature, drifted: 1 })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Drifted features per check',
    width: WIDE.width,
    height: { step: 18 },
    data: { values: rows },
    mark: { type: 'rect', color: BREACH_COLOR },
    encoding: {
      x: { field: 'at', type: 'ordinal', title: 'check', axis: { labels: false } },
      y: { field: 'feature', type: 'nominal', title: null },
      tooltip: [{ field: 'at' }, { field: 'feature' }],
    },
  } as TopLevelSpec;
}

/** Label and prediction shift against the training label distribution. */
export function shiftSpec(checks: readonly MonitorCheckRecord[], monitor?: MonitorSpec): TopLevelSpec {
  const rows = checks.flatMap((c) => [
    ...(c.slo.labelShift != null ? [{ at: c.at, value: c.slo.labelShift, series: 'label shift' }] : []),
    ...(c.slo.predictionShift != null ? [{ at: c.at, value: c.slo.predictionShift, series: 'prediction shift' }] : []),
  ]);
  const limit = monitor?.slo.maxPredictionShift ?? monitor?.slo.maxLabelShift;
  return seriesWithLimit('Label and prediction shift', rows, limit, 'shift');
}

export interface SloChart {
  key: 'p99LatencyMs' | 'errorRate' | 'auc' | 'accuracy' | 'rmse';
  title: string;
  limit: number | undefined;
}

/** The SLO charts that apply to a model's task (online quality from feedback labels by task). */
export function sloCharts(checks: readonly MonitorCheckRecord[], monitor?: MonitorSpec): SloChart[] {
  const task = checks.findLast((c) => c.slo.task)?.slo.task ?? 'binary';
  const slo = monitor?.slo;
  const quality: SloChart =
    task === 'multiclass'
      ? { key: 'accuracy', title: 'Online accuracy (dashed: minimum)', limit: slo?.minAccuracy }
      : task === 'regression'
        ? { key: 'rmse', title: 'Online RMSE (dashed: maximum)', limit: slo?.maxRmse }
        : { key: 'auc', title: 'Online AUC (dashed: minimum)', limit: slo?.minAuc };
  return [
    { key: 'p99LatencyMs', title: 'p99 latency, ms (dashed: limit)', limit: slo?.p99LatencyMs },
    { key: 'errorRate', title: 'Error rate (dashed: limit)', limit: slo?.maxErrorRate },
    quality,
  ];
}

/** The chart of one SLO; undefined when no check measured it (no labels yet, say). */
export function sloSpec(checks: readonly MonitorCheckRecord[], chart: SloChart): TopLevelSpec | undefined {
  const rows = checks.flatMap((c) => {
    const value = c.slo[chart.key];
    return typeof value === 'number' && Number.isFinite(value) ? [{ at: c.at, value, series: chart.key }] : [];
  });
  if (rows.length === 0) return undefined;
  return { ...seriesWithLimit(chart.title, rows, chart.limit, chart.key), ...CHART_SIZE, width: 400 } as TopLevelSpec;
}

export interface TrafficStep {
  /** 1-based step number, as the page names it. */
  step: number;
  shadow: boolean;
  weight: number;
  /** passed, current, or planned. */
  phase: 'passed' | 'current' | 'planned';
}

/** The challenger's share of traffic at each step of the plan (a shadow step answers nobody). */
export function trafficSpec(steps: readonly TrafficStep[]): TopLevelSpec {
  // Planned steps are drawn faint; the opacity is the value itself (no scale).
  const alpha = { passed: 0.9, current: 1, planned: 0.35 } as const;
  const rows = steps.flatMap((s) => [
    { step: `${s.step}${s.shadow ? ' (shadow)' : ''}`, arm: 'challenger', share: s.shadow ? 0 : s.weight, alpha: alpha[s.phase] },
    { step: `${s.step}${s.shadow ? ' (shadow)' : ''}`, arm: 'champion', share: s.shadow ? 100 : 100 - s.weight, alpha: alpha[s.phase] },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Traffic share by step (%)',
    width: { step: 60 },
    height: 180,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'step', type: 'ordinal', title: 'step', sort: null },
      y: { field: 'share', type: 'quantitative', title: 'percent of requests', stack: 'zero', scale: { domain: [0, 100] } },
      color: {
        field: 'arm',
        type: 'nominal',
        title: null,
        scale: { domain: ['challenger', 'champion'], range: [SERIES_COLORS.judged, SERIES_COLORS.baseline] },
      },
      opacity: { field: 'alpha', type: 'quantitative', scale: null, legend: null },
    },
  } as TopLevelSpec;
}

/** Learning curves: one line per (series, metric), epochs on x; `series` names a run in a
 * comparison. Undefined when no epoch reported a finite metric. */
export function epochsSpec(
  runs: ReadonlyArray<{ series: string; epochs: readonly RunEpoch[] }>,
  metrics?: readonly string[],
): TopLevelSpec | undefined {
  const values = runs.flatMap((r) =>
    r.epochs.flatMap((e) =>
      Object.entries(e.metrics)
        .filter(([k, v]) => Number.isFinite(v) && (!metrics || metrics.includes(k)))
        .map(([metric, value]) => ({
          epoch: e.epoch,
          metric,
          value,
          series: r.series,
          line: runs.length > 1 ? `${r.series} ${metric}` : metric,
        })),
    ),
  );
  if (values.length === 0) return undefined;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 560,
    height: 280,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: 'value', scale: { zero: false } },
      color: { field: 'line', type: 'nominal', title: null },
      ...(runs.length > 1 ? { strokeDash: { field: 'metric', type: 'nominal', title: null } } : {}),
    },
  };
}
