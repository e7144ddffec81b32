// The drift report a person opens when the monitor alerts: one self-contained HTML file in the
// shared report shell (lib/report/html.ts: Vega-Lite → inline SVG, no scripts): the verdict, the
// per-feature drift table, the SLO table, and reference-vs-recent histograms for every feature.
import type { TopLevelSpec } from 'vega-lite';
import { categoricalCounts } from '../data/drift/index.ts';
import type { FeatureDrift } from '../data/drift/index.ts';
import type { FeatureProfile } from '../data/profile-types.ts';
import { CHART_SIZE, escapeHtml, renderSvg, reportDocument, SERIES_COLORS } from '../report/html.ts';
import { sloReason, type DriftCheckReport } from './report.ts';

type Side = 'reference' | 'recent';
type Row = { side: Side; bin: string; i: number; share: number };

/** Reference is the trained-on distribution: the baseline, coloured like the evaluation report's champion. */
const SIDE_COLORS: Record<Side, string> = { reference: SERIES_COLORS.baseline, recent: SERIES_COLORS.judged };
/** Categories a chart shows: the most frequent of either side. */
const MAX_CATEGORIES = 15;

const format = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? '—' : String(Number(v.toPrecision(digits)));

function numericRows(ref: FeatureProfile, cur: FeatureProfile): Row[] | null {
  if (ref.kind !== 'numeric' || cur.kind !== 'numeric') return null;
  const edges = ref.histogram.edges;
  if (edges.length < 2 || cur.histogram.counts.length !== ref.histogram.counts.length) return null;
  const label = (i: number) => `${format(edges[i], 3)}–${format(edges[i + 1], 3)}`;
  const rows: Row[] = [];
  for (const [side, counts] of [
    ['reference', ref.histogram.counts],
    ['recent', cur.histogram.counts],
  ] as const) {
    const total = counts.reduce((s, c) => s + c, 0) || 1;
    counts.forEach((c, i) => rows.push({ side, bin: label(i), i, share: c / total }));
  }
  return rows;
}

function categoricalRows(ref: FeatureProfile, cur: FeatureProfile): Row[] | null {
  if (ref.kind !== 'categorical' || cur.kind !== 'categorical') return null;
  const sides = [
    ['reference', categoricalCounts(ref)],
    ['recent', categoricalCounts(cur)],
  ] as const;
  const shares = sides.map(([side, counts]) => {
    const total = [...counts.values()].reduce((s, c) => s + c, 0) || 1;
    return [side, new Map([...counts].map(([k, c]) => [k, c / total]))] as const;
  });
  const score = new Map<string, number>();
  for (const [, m] of shares) for (const [k, s] of m) score.set(k, Math.max(score.get(k) ?? 0, s));
  const top = [...score]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, MAX_CATEGORIES)
    .map(([k]) => k);
  return shares.flatMap(([side, m]) => top.map((bin, i) => ({ side, bin, i, share: m.get(bin) ?? 0 })));
}

function histogramSpec(rows: Row[], kind: 'numeric' | 'categorical'): TopLevelSpec {
  const sides: Side[] = ['reference', 'recent'];
  const color = {
    field: 'side',
    type: 'nominal' as const,
    title: null,
    scale: { domain: sides, range: sides.map((s) => SIDE_COLORS[s]) },
    legend: { orient: 'top-right' as const },
  };
  const bin = { field: 'bin', type: 'nominal' as const, title: null, sort: { field: 'i' } };
  const share = { field: 'share', type: 'quantitative' as const, title: 'Share of rows', axis: { format: '%' } };
  // Numeric bins read left to right; categories read top to bottom with their names.
  return kind === 'numeric'
    ? {
        width: CHART_SIZE.width,
        height: 200,
        data: { values: rows },
        mark: { type: 'bar' },
        encoding: { x: { ...bin, axis: { labelAngle: -45 } }, xOffset: { field: 'side', sort: sides }, y: share, color },
      }
    : {
        width: CHART_SIZE.width,
        height: { step: 9, for: 'offset' },
        data: { values: rows },
        mark: { type: 'bar' },
        encoding: { y: bin, yOffset: { field: 'side', sort: sides }, x: share, color },
      };
}

function driftTable(features: FeatureDrift[]): string {
  const rows = features.map((f) => {
    const status = f.status !== 'ok' ? 'skipped' : f.drifted ? 'failed' : 'passed';
    const verdict = f.status !== 'ok' ? f.status.replace('_', ' ') : f.drifted ? 'drifted' : 'stable';
    // Categoricals: the threshold the score met (raised to the sampling-noise floor when higher)
    // and the unseen share against the reference's own.
    const limit = f.effectiveThreshold ?? f.threshold;
    const threshold = limit > f.threshold ? `${format(limit)} (noise floor; set ${format(f.threshold)})` : format(f.threshold);
    const unseen = f.stats.unseenShare === undefined ? '—' : `${format(f.stats.unseenShare)} (ref ${format(f.stats.unseenBaseline ?? 0)})`;
    return `<tr class="${status}"><th>${escapeHtml(f.feature)}</th><td>${verdict}</td><td>${escapeHtml(f.method)}</td><td>${format(f.score)}</td><td>${threshold}</td><td>${unseen}</td><td>${format(f.stats.psi)}</td><td>${f.stats.refSamples ?? '—'} / ${f.stats.curSamples ?? '—'}</td><td>${escapeHtml(f.reason ?? '')}</td></tr>`;
  });
  return `<table><thead><tr><th>Feature</th><th>Verdict</th><th>Method</th><th>Score</th><th>Threshold</th><th>Unseen share</th><th>PSI</th><th>Rows (ref / recent)</th><th>Note</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The task's online quality and label/prediction shift, as measured. */
function onlineQuality(m: DriftCheckReport['summary']['slo']): string {
  const quality =
    m.task === 'multiclass'
      ? `online accuracy ${format(m.accuracy ?? null)}`
      : m.task === 'regression'
        ? `online RMSE ${format(m.rmse ?? null)}, MAE ${format(m.mae ?? null)}`
        : `online AUC ${format(m.auc)}`;
  return `${quality}; label shift ${format(m.labelShift ?? null)}; prediction shift ${format(m.predictionShift ?? null)}`;
}

function sloTable(report: DriftCheckReport): string {
  const m = report.summary.slo;
  const measured = `<p>${m.samples.toLocaleString('en-US')} predictions; p99 latency ${format(m.p99LatencyMs)} ms; error rate ${format(m.errorRate)}; ${m.labels} labelled, ${onlineQuality(m)}.</p>`;
  if (report.slos.length === 0) return `${measured}<p class="muted">No SLOs declared.</p>`;
  const rows = report.slos.map((s) => {
    const status = !s.judged ? 'skipped' : s.breached ? 'failed' : 'passed';
    return `<tr class="${status}"><th>${escapeHtml(s.name)}</th><td>${!s.judged ? 'not judged' : s.breached ? 'breached' : 'met'}</td><td>${format(s.observed)}</td><td>${format(s.limit)}</td><td>${s.breached ? escapeHtml(sloReason(s)) : ''}</td></tr>`;
  });
  return `${measured}<table><thead><tr><th>SLO</th><th>Result</th><th>Observed</th><th>Limit</th><th>Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

async function charts(report: DriftCheckReport): Promise<string> {
  const { reference, current, drift } = report;
  if (!reference || !current || !drift) return '<p class="muted">No histograms: the window was not profiled.</p>';
  const figures = await Promise.all(
    drift.features.map(async (f) => {
      const ref = reference.features[f.feature];
      const cur = current.features[f.feature];
      const rows = ref && cur ? (numericRows(ref, cur) ?? categoricalRows(ref, cur)) : null;
      const caption = `${f.feature}${f.status === 'ok' ? ` — ${f.method} ${format(f.score)}${f.drifted ? ' (drifted)' : ''}` : ''}`;
      const body = rows ? await renderSvg(histogramSpec(rows, f.kind)) : '<p class="muted">Not comparable.</p>';
      return `<figure><figcaption>${escapeHtml(caption)}</figcaption>${body}</figure>`;
    }),
  );
  return `<div class="charts">${figures.join('')}</div>`;
}

/** The whole report as one HTML document; every string from the input is escaped. */
export async function renderDriftReport(report: DriftCheckReport): Promise<string> {
  const { summary, drift } = report;
  const title = `Drift check ${summary.checkId}${summary.championVersion !== null ? ` of v${summary.championVersion}` : ''}`;
  const status = summary.breach ? 'failed' : 'passed';
  const headline = summary.breach
    ? `Breach: ${summary.reasons.join('; ')}`
    : summary.status === 'ok'
      ? 'No breach: drift and SLOs within limits.'
      : `Not judged (${summary.status}): ${summary.reasons.join('; ')}`;
  return reportDocument(
    title,
    `<p class="muted">${escapeHtml(`${summary.at} · window ${report.monitor.window} · reference ${summary.reference ?? '—'} · ${summary.samples} predictions`)}</p>
<p class="summary ${status}">${escapeHtml(headline)}</p>
<h2>Data drift</h2>
${drift ? `<p>${escapeHtml(drift.summary)}</p>${driftTable(drift.features)}` : '<p class="muted">Not compared.</p>'}
<h2>Service-level objectives</h2>
${sloTable(report)}
<h2>Reference vs recent</h2>
${await charts(report)}`,
  );
}
