// The evaluation report a reviewer opens before approving a model: one self-contained HTML
// file in the shared report shell (lib/report/html.ts): charts of candidate against champion,
// and the quality-gate results. The charts and the metrics table follow the task: ROC, PR,
// calibration for a binary classifier; a confusion matrix and per-class bars for a multiclass
// one (report-html-tasks.ts); predicted against actual and residuals for a regressor.
import type { TopLevelSpec } from 'vega-lite';
import { CHART_SIZE, escapeHtml, reportDocument } from '../report/html.ts';
import { sliceName, type EvaluationMetrics } from './evaluate.ts';
import { taskOfMetrics } from './evaluate-tasks.ts';
import type { GateCandidate, GateReport, TaskGateCandidate } from './gates.ts';
import { taskCharts, taskMetricRows } from './report-html-tasks.ts';
import { barsSpec, colorEncoding, costRows, figures, fixed, roles, table, type Role, type Row } from './report-parts.ts';

/** A model of any task in the report. */
export interface ReportModel extends TaskGateCandidate {
  /** Shown in the table header, e.g. `v7`. */
  label?: string;
}

/** A binary classifier in the report. */
interface BinaryReportModel extends GateCandidate {
  label?: string;
}

export interface EvaluationReportInput {
  title: string;
  candidate: ReportModel;
  champion?: ReportModel;
  gates: GateReport;
}

const diagonal = {
  data: {
    values: [
      { x: 0, y: 0 },
      { x: 1, y: 1 },
    ],
  },
  mark: { type: 'line' as const, color: '#bbb', strokeDash: [4, 4] },
  encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } },
};

interface CurveChart {
  values: Row[];
  present: Role[];
  x: [field: string, title: string];
  y: [field: string, title: string];
  interpolate?: 'linear' | 'step-before';
  withDiagonal: boolean;
  points?: boolean;
}

function curveSpec(chart: CurveChart): TopLevelSpec {
  const axis = (field: string, title: string) => ({ field, title, type: 'quantitative' as const, scale: { domain: [0, 1] } });
  const curve = {
    data: { values: chart.values },
    mark: { type: 'line' as const, interpolate: chart.interpolate ?? 'linear', point: chart.points ?? false, clip: true },
    encoding: {
      x: axis(...chart.x),
      y: axis(...chart.y),
      color: colorEncoding(chart.present),
      order: { field: 'i', type: 'quantitative' as const },
    },
  };
  return { ...CHART_SIZE, layer: chart.withDiagonal ? [diagonal, curve] : [curve] };
}

function sliceSpec(values: Row[], present: Role[]): TopLevelSpec {
  // Bars start at the axis floor, not at 0, so that small AUC differences stay visible.
  const floor = Math.floor(Math.min(0.5, ...values.map((v) => Number(v.auc))) * 10) / 10;
  return barsSpec(values, present, { y: 'slice', x: 'auc', title: 'ROC AUC', domain: [floor, 1] });
}

async function charts(candidate: BinaryReportModel, champion: BinaryReportModel | undefined): Promise<string> {
  const models = roles(candidate, champion);
  const present = models.map(([role]) => role);
  const rows = (pick: (m: EvaluationMetrics) => object[]): Row[] =>
    models.flatMap(([model, { metrics }]) => pick(metrics).map((point, i) => ({ model, i, ...point }) as Row));
  const sliceRows: Row[] = [];
  for (const [family, slices] of Object.entries(candidate.metrics.slices)) {
    for (const slice of slices) {
      if (slice.auc === null) continue;
      const name = sliceName({ family, slice: slice.slice });
      sliceRows.push({ model: 'candidate', slice: name, auc: slice.auc });
      const championAuc = champion?.metrics.slices[family]?.find((s) => s.slice === slice.slice)?.auc;
      if (championAuc !== undefined && championAuc !== null) sliceRows.push({ model: 'champion', slice: name, auc: championAuc });
    }
  }
  const sections: [string, TopLevelSpec | null][] = [
    [
      'ROC curve',
      curveSpec({
        values: rows((m) => m.curves.roc),
        present,
        x: ['fpr', 'False positive rate'],
        y: ['tpr', 'True positive rate'],
        withDiagonal: true,
      }),
    ],
    [
      'Precision–recall curve',
      curveSpec({
        values: rows((m) => m.curves.pr),
        present,
        x: ['recall', 'Recall'],
        y: ['precision', 'Precision'],
        interpolate: 'step-before',
        withDiagonal: false,
      }),
    ],
    [
      'Calibration',
      curveSpec({
        values: rows((m) => m.curves.calibration),
        present,
        x: ['meanPredicted', 'Mean predicted probability'],
        y: ['observedRate', 'Observed delay rate'],
        withDiagonal: true,
        points: true,
      }),
    ],
    ['AUC per slice', sliceRows.length > 0 ? sliceSpec(sliceRows, present) : null],
  ];
  return figures(sections, 'No slice has both classes.');
}

function metricsTable(candidate: BinaryReportModel, champion: BinaryReportModel | undefined): string {
  type Pick = (m: BinaryReportModel) => number | string | undefined;
  const metric =
    (f: (m: EvaluationMetrics) => number): Pick =>
    (m) =>
      f(m.metrics);
  const rows: [string, Pick, (v: number) => string][] = [
    ['ROC AUC', metric((m) => m.rocAuc), fixed(4)],
    ['PR AUC (average precision)', metric((m) => m.prAuc), fixed(4)],
    ['Log loss', metric((m) => m.logLoss), fixed(4)],
    ['Brier score', metric((m) => m.brier), fixed(4)],
    ['Expected calibration error', metric((m) => m.ece), fixed(4)],
    ['Threshold (F1 on validation)', metric((m) => m.threshold), fixed(4)],
    ['Precision at threshold', metric((m) => m.precision), fixed(4)],
    ['Recall at threshold', metric((m) => m.recall), fixed(4)],
    ['F1 at threshold', metric((m) => m.f1), fixed(4)],
    ['Test rows', metric((m) => m.rows), (v) => v.toLocaleString('en-US')],
    ['Positive rate', metric((m) => m.positives / m.rows), fixed(4)],
    [
      'Worst slice',
      (m) => (m.metrics.worstSlice ? `${sliceName(m.metrics.worstSlice)} (AUC ${m.metrics.worstSlice.auc?.toFixed(3)})` : undefined),
      String,
    ],
    ...costRows(candidate),
  ];
  return table(rows, candidate, champion);
}

function gatesTable(gates: GateReport): string {
  if (gates.gates.length === 0) return '<p class="muted">No quality gates declared.</p>';
  const format = (v: number | null) => (v === null ? '—' : String(Number(v.toPrecision(4))));
  const rows = gates.gates.map((g) => {
    const status = g.skipped ? 'skipped' : g.passed ? 'passed' : 'failed';
    return `<tr class="${status}"><th>${escapeHtml(g.name)}</th><td>${status}</td><td>${format(g.observed)}</td><td>${format(g.limit)}</td><td>${escapeHtml(g.message)}</td></tr>`;
  });
  return `<table><thead><tr><th>Gate</th><th>Result</th><th>Observed</th><th>Limit</th><th>Detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The whole report as one HTML document; every string from the input is escaped. */
export async function renderEvaluationReport(input: EvaluationReportInput): Promise<string> {
  const { title, candidate, champion, gates } = input;
  const kind = taskOfMetrics(candidate.metrics);
  if (champion && taskOfMetrics(champion.metrics) !== kind) {
    throw new RangeError(`the champion is a ${taskOfMetrics(champion.metrics)} model, the candidate a ${kind} one`);
  }
  let metricsHtml: string;
  let chartsHtml: string;
  if (kind === 'binary') {
    const binary = (m: ReportModel | undefined) => m as BinaryReportModel | undefined;
    metricsHtml = metricsTable(binary(candidate)!, binary(champion));
    chartsHtml = await charts(binary(candidate)!, binary(champion));
  } else {
    metricsHtml = table(taskMetricRows(candidate), candidate, champion);
    chartsHtml = await taskCharts(candidate, champion);
  }
  const status = gates.passed ? 'passed' : 'failed';
  return reportDocument(
    title,
    `<p class="summary ${status}">Quality gates ${status}: ${escapeHtml(gates.summary)}</p>
<h2>Metrics</h2>
${metricsHtml}
<h2>Quality gates</h2>
${gatesTable(gates)}
<h2>Charts</h2>
${chartsHtml}`,
  );
}
