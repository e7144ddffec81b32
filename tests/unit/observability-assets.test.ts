// The Grafana dashboards (infra/grafana/dashboards) and the Prometheus alert rules
// (infra/prometheus/alerts.yml) against the code: each dashboard is Grafana dashboard JSON, the
// rules have Prometheus' rule-file shape, and every metric a PromQL expression names is one this
// code exports — Flywheel's registries (built here, so their names are the registered ones, with
// the series a histogram adds), prom-client's default metrics, the Temporal SDK's Core metrics
// (found in the native bridge this install loads), or Prometheus' own `up`.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Registry } from 'prom-client';
import { parse } from 'yaml';
import { createServingMetrics } from '../../serving/metrics.ts';
import { createWorkerMetrics } from '../../workers/shared/metrics.ts';
import { driftCheckResult } from '../../activities/monitor/index.ts';
import type { DriftCheckSummary } from '../../lib/contracts/drift-monitor.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARDS = join(ROOT, 'infra/grafana/dashboards');
const RULES = join(ROOT, 'infra/prometheus/alerts.yml');

/** Names the exposition of a registry carries: histograms add _bucket, _sum and _count. */
async function exposedNames(registries: Registry[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      const type = String(metric.type);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(metric.name + s);
    }
  }
  return names;
}

/** The Temporal SDK's metrics reach /metrics from Core (Rust), prefixed `temporal_` and with
 * Prometheus suffixes; their base names are strings in the native bridge this install loads. */
function temporalCoreBinary(): Buffer {
  const require = createRequire(import.meta.url);
  const { getPrebuiltPath } = require('@temporalio/core-bridge/common.js') as { getPrebuiltPath(): string };
  return readFileSync(getPrebuiltPath());
}

function temporalBaseName(metric: string): string {
  return metric
    .replace(/^temporal_/, '')
    .replace(/_(bucket|sum|count)$/, '')
    .replace(/_total$/, '')
    .replace(/_seconds$/, '');
}

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/** The metric names of a PromQL expression (or a Grafana `label_values(metric, label)` query):
 * what is left once strings, label matchers, ranges, grouping clauses, function calls, Grafana
 * variables, numbers and keywords are taken out. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ')
    // label_values(metric, label): the second argument is a label.
    .replace(/\blabel_values\s*\(([^,()]+),\s*\w+\s*\)/g, '$1');
  const out = new Set<string>();
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const [token, call] = [m[0].replace(/\s*\($/, ''), m[1]];
    if (call || PROMQL_WORDS.has(token.toLowerCase()) || /^\d/.test(token)) continue;
    // Exponents and durations such as 1e-9 leave `e`: not names.
    if (/^e$/i.test(token)) continue;
    out.add(token);
  }
  return [...out];
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string }[];
}

interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
  time: { from: string; to: string };
}

const dashboardFiles = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
const dashboards = dashboardFiles.map((f) => ({ file: f, board: JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8')) as Dashboard }));

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rules = parse(readFileSync(RULES, 'utf8')) as { groups: { name: string; interval?: string; rules: Rule[] }[] };

/** Every PromQL expression of the assets, with where it is. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const { file, board } of dashboards) {
    for (const panel of board.panels) for (const t of panel.targets ?? []) out.push({ where: `${file}: ${panel.title}`, expr: t.expr });
    for (const v of board.templating.list)
      if (v.type === 'query') out.push({ where: `${file}: $${v.name}`, expr: typeof v.query === 'string' ? v.query : v.query.query });
  }
  for (const group of rules.groups)
    for (const rule of group.rules) out.push({ where: `alerts.yml: ${rule.alert ?? rule.record}`, expr: rule.expr });
  return out;
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;

describe('Grafana dashboards', () => {
  it('are there: serving and workers', () => {
    expect(dashboardFiles.sort()).toEqual(['flywheel-serving.json', 'flywheel-workers.json']);
  });

  it.each(dashboards)('$file has the fields Grafana imports a dashboard by', ({ board }) => {
    expect(board.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(board.title).toMatch(/^Flywheel \/ /);
    expect(board.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(board.time).toEqual({ from: expect.any(String), to: 'now' });
    expect(board.templating.list[0]).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    const ids = board.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of board.panels) {
      expect(panel.gridPos.w + panel.gridPos.x, panel.title).toBeLessThanOrEqual(24);
      if (panel.type === 'row') continue;
      expect(['timeseries', 'stat', 'gauge', 'table', 'bargauge']).toContain(panel.type);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    }
  });

  it('have unique uids', () => {
    const uids = dashboards.map((d) => d.board.uid);
    expect(new Set(uids).size).toBe(uids.length);
  });
});

describe('Prometheus alert rules', () => {
  it('have the rule-file shape: groups of named rules with an expression, durations and string labels', () => {
    expect(rules.groups.length).toBeGreaterThan(0);
    const names = rules.groups.map((g) => g.name);
    expect(new Set(names).size).toBe(names.length);
    for (const group of rules.groups) {
      expect(Object.keys(group).filter((k) => !['name', 'interval', 'limit', 'rules'].includes(k))).toEqual([]);
      for (const rule of group.rules) {
        expect(
          Object.keys(rule).filter((k) => !['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations'].includes(k)),
        ).toEqual([]);
        expect(typeof rule.alert === 'string' || typeof rule.record === 'string').toBe(true);
        expect(rule.alert ?? '').toMatch(/^(Flywheel[A-Za-z]+)?$/);
        expect(typeof rule.expr).toBe('string');
        if (rule.for !== undefined) expect(rule.for).toMatch(DURATION);
        for (const v of Object.values({ ...rule.labels, ...rule.annotations })) expect(typeof v).toBe('string');
        expect(['critical', 'warning', 'info']).toContain(rule.labels?.['severity']);
        expect(rule.annotations?.['summary']).toBeTruthy();
      }
    }
  });

  it('cover the stuck rollout, drift, preemption rate, shed rate and a down worker', () => {
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    for (const name of [
      'FlywheelRolloutStuck',
      'FlywheelDriftDetected',
      'FlywheelPreemptionRateHigh',
      'FlywheelServingShedding',
      'FlywheelTargetDown',
      'FlywheelNoCpuWorkerPolling',
    ])
      expect(alerts).toContain(name);
  });
});

describe('metric names in dashboards and alerts', () => {
  it('reads metric names out of PromQL (and can fail)', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, model) (rate(flywheel_serving_predict_latency_seconds_bucket{model=~"$model", x="a b"}[$__rate_interval]))) > 1e-9',
      ),
    ).toEqual(['flywheel_serving_predict_latency_seconds_bucket']);
    expect(metricNames('sum(a_total) / clamp_min(sum(b_total), 1) unless on (job) up == 0')).toEqual(['a_total', 'b_total', 'up']);
    expect(metricNames('label_values(temporal_num_pollers, task_queue)')).toEqual(['temporal_num_pollers']);
  });

  it('are all exported by the code', async () => {
    const registered = await exposedNames([createServingMetrics().registry, createWorkerMetrics().registry]);
    const core = temporalCoreBinary();
    const known = (name: string): boolean =>
      registered.has(name) || name === 'up' || (name.startsWith('temporal_') && core.includes(temporalBaseName(name)));
    const unknown = expressions().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((n) => !known(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(unknown).toEqual([]);
    // The check fails on names nobody exports, Flywheel's or Temporal's.
    expect(known('flywheel_serving_made_up_total')).toBe(false);
    expect(known('temporal_activity_made_up_total')).toBe(false);
    expect(known('temporal_num_pollers') && known('flywheel_worker_preemptions_total') && known('nodejs_eventloop_lag_p99_seconds')).toBe(
      true,
    );
  });

  it('use every Flywheel metric at least once across the dashboards and alerts', async () => {
    const used = new Set(expressions().flatMap(({ expr }) => metricNames(expr)));
    const flywheel = [...(await exposedNames([createServingMetrics().registry, createWorkerMetrics().registry]))].filter((n) =>
      n.startsWith('flywheel_'),
    );
    // A histogram counts as used through any of its series.
    const unused = flywheel.filter(
      (n) => !used.has(n) && !['_bucket', '_sum', '_count', ''].some((s) => used.has(n.replace(/_(bucket|sum|count)$/, '') + s)),
    );
    expect(unused).toEqual([]);
  });
});

describe('the drift-check counter the drift alert reads', () => {
  it('counts checks by model and result, with the monitor’s reading of a summary', async () => {
    const metrics = createWorkerMetrics({ defaultMetrics: false });
    const summary = (status: DriftCheckSummary['status'], breach: boolean) => ({ status, breach }) as DriftCheckSummary;
    expect([
      driftCheckResult(summary('breach', true)),
      driftCheckResult(summary('ok', false)),
      driftCheckResult(summary('no-champion', false)),
    ]).toEqual(['breach', 'clear', 'unknown']);
    metrics.driftCheckWatch('flights', 'breach');
    metrics.driftCheckWatch('flights', 'breach');
    metrics.driftCheckWatch('flights', 'clear');
    const text = await metrics.registry.metrics();
    expect(text).toContain('flywheel_monitor_drift_checks_total{model="flights",result="breach"} 2');
    expect(text).toContain('flywheel_monitor_drift_checks_total{model="flights",result="clear"} 1');
  });
});
