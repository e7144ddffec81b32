// The evaluation report's metrics rows and charts for multiclass classifiers (confusion-matrix
// heatmap, per-class F1 bars, accuracy per slice) and regressors (predicted against actual on a
// sample of test rows, residual histogram, RMSE per slice). Binary charts stay in report-html.ts.
import type { TopLevelSpec } from 'vega-lite';
import { CHART_SIZE } from '../report/html.ts';
import { sliceName } from './evaluate.ts';
import type { MulticlassEvaluationMetrics, RegressionEvaluationMetrics } from './evaluate-tasks.ts';
import type { ReportModel } from './report-html.ts';
import { barsSpec, colorEncoding, costRows, figures, fixed, roles, type MetricRow, type Row } from './report-parts.ts';

type Multiclass = ReportModel & { metrics: MulticlassEvaluationMetrics };
type Regression = ReportModel & { metrics: RegressionEvaluationMetrics };

const count = (v: number) => v.toLocaleString('en-US');

function worstSliceText(worst: { family: string; slice: string } | null, detail: string): string | undefined {
  return worst ? `${sliceName(worst)} (${detail})` : undefined;
}

function multiclassRows(candidate: Multiclass): MetricRow<Multiclass>[] {
  const k = candidate.metrics.topK.k;
  return [
    ['Accuracy', (m) => m.metrics.accuracy, fixed(4)],
    ['Macro-F1', (m) => m.metrics.macroF1, fixed(4)],
    [`Top-${k} accuracy`, (m) => (m.metrics.topK.k === k ? m.metrics.topK.accuracy : undefined), fixed(4)],
    ['Log loss', (m) => m.metrics.logLoss, fixed(4)],
    ['Classes', (m) => m.metrics.classes.length, String],
    ['Test rows', (m) => m.metrics.rows, count],
    ['Worst slice', (m) => worstSliceText(m.metrics.worstSlice, `accuracy ${m.metrics.worstSlice?.accuracy.toFixed(3)}`), String],
    ...costRows(candidate),
  ];
}

function regressionRows(candidate: Regression): MetricRow<Regression>[] {
  const r = (f: (m: RegressionEvaluationMetrics) => number) => (m: Regression) => f(m.metrics);
  const value = (v: number) => String(Number(v.toPrecision(5)));
  return [
    ['RMSE', r((m) => m.rmse), value],
    ['MAE', r((m) => m.mae), value],
    ['R²', r((m) => m.r2), fixed(4)],
    ['Target mean', r((m) => m.targetMean), value],
    ['Mean residual (actual − predicted)', r((m) => m.residuals.mean), value],
    ['Residual standard deviation', r((m) => m.residuals.std), value],
    ['Residual 5th percentile', r((m) => m.residuals.p05), value],
    ['Residual median', r((m) => m.residuals.median), value],
    ['Residual 95th percentile', r((m) => m.residuals.p95), value],
    ['Test rows', r((m) => m.rows), count],
    ['Worst slice', (m) => worstSliceText(m.metrics.worstSlice, `RMSE ${value(m.metrics.worstSlice?.rmse ?? NaN)}`), String],
    ...costRows(candidate),
  ];
}

/** The metrics table's rows for a multiclass or regression candidate. */
export function taskMetricRows(candidate: ReportModel): MetricRow<ReportModel>[] {
  const m = candidate.metrics;
  if (!('task' in m)) throw new RangeError('binary reports have their own rows');
  return (
    m.task === 'multiclass' ? multiclassRows(candidate as Multiclass) : regressionRows(candidate as Regression)
  ) as MetricRow<ReportModel>[];
}

function confusionSpec(m: MulticlassEvaluationMetrics): TopLevelSpec {
  // Shares of each actual class, so a rare class reads as clearly as a common one.
  const values = m.confusion.flatMap((row, a) => {
    const support = row.reduce((x, y) => x + y, 0);
    return row.map((n, p) => ({ actual: m.classes[a]!, predicted: m.classes[p]!, count: n, share: support === 0 ? 0 : n / support }));
  });
  const axis = (field: string, title: string) => ({ field, title, type: 'nominal' as const, sort: m.classes });
  return {
    width: CHART_SIZE.width,
    height: CHART_SIZE.width,
    data: { values },
    encoding: { x: axis('predicted', 'Predicted'), y: axis('actual', 'Actual') },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'share', type: 'quantitative', title: 'Share of actual', scale: { scheme: 'blues', domain: [0, 1] } },
        },
      },
      {
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          text: { field: 'count', type: 'quantitative' },
          color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' },
        },
      },
    ],
  };
}

async function multiclassCharts(candidate: Multiclass, champion: Multiclass | undefined): Promise<string> {
  const models = roles(candidate, champion);
  const present = models.map(([role]) => role);
  const f1Rows: Row[] = models.flatMap(([model, { metrics }]) => metrics.perClass.map((c) => ({ model, name: c.class, f1: c.f1 })));
  const sliceRows: Row[] = [];
  for (const [family, slices] of Object.entries(candidate.metrics.slices)) {
    for (const slice of slices) {
      const name = sliceName({ family, slice: slice.slice });
      sliceRows.push({ model: 'candidate', name, accuracy: slice.accuracy });
      const theirs = champion?.metrics.slices[family]?.find((s) => s.slice === slice.slice);
      if (theirs) sliceRows.push({ model: 'champion', name, accuracy: theirs.accuracy });
    }
  }
  return figures(
    [
      ['Confusion matrix (candidate)', confusionSpec(candidate.metrics)],
      ['F1 per class', barsSpec(f1Rows, present, { y: 'name', x: 'f1', title: 'F1', domain: [0, 1] })],
      [
        'Accuracy per slice',
        sliceRows.length > 0 ? barsSpec(sliceRows, present, { y: 'name', x: 'accuracy', title: 'Accuracy', domain: [0, 1] }) : null,
      ],
    ],
    'No slice has enough rows.',
  );
}

async function regressionCharts(candidate: Regression, champion: Regression | undefined): Promise<string> {
  const models = roles(candidate, champion);
  const present = models.map(([role]) => role);
  const points: Row[] = models.flatMap(([model, { metrics }]) => metrics.charts.scatter.map((p) => ({ model, ...p })));
  let lo = Infinity;
  let hi = -Infinity;
  for (const p of points) {
    lo = Math.min(lo, Number(p.actual), Number(p.predicted));
    hi = Math.max(hi, Number(p.actual), Number(p.predicted));
  }
  const axis = (field: string, title: string) => ({
    field,
    title,
    type: 'quantitative' as const,
    scale: { domain: [lo, hi], nice: false },
  });
  const scatter: TopLevelSpec = {
    ...CHART_SIZE,
    layer: [
      {
        data: {
          values: [
            { x: lo, y: lo },
            { x: hi, y: hi },
          ],
        },
        mark: { type: 'line', color: '#bbb', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 14, opacity: 0.6 },
        encoding: { x: axis('actual', 'Actual'), y: axis('predicted', 'Predicted'), color: colorEncoding(present) },
      },
    ],
  };
  const histogram: TopLevelSpec = {
    ...CHART_SIZE,
    data: { values: models.flatMap(([model, { metrics }]) => metrics.charts.residualHistogram.map((b) => ({ model, ...b }))) },
    mark: { type: 'bar', opacity: 0.6, binSpacing: 0 },
    encoding: {
      x: { field: 'lower', type: 'quantitative', title: 'Residual (actual − predicted)' },
      x2: { field: 'upper' },
      y: { field: 'count', type: 'quantitative', title: 'Test rows', stack: null },
      color: colorEncoding(present),
    },
  };
  const sliceRows: Row[] = [];
  let maxRmse = 0;
  for (const [family, slices] of Object.entries(candidate.metrics.slices)) {
    for (const slice of slices) {
      const name = sliceName({ family, slice: slice.slice });
      sliceRows.push({ model: 'candidate', name, rmse: slice.rmse });
      const theirs = champion?.metrics.slices[family]?.find((s) => s.slice === slice.slice);
      if (theirs) sliceRows.push({ model: 'champion', name, rmse: theirs.rmse });
      maxRmse = Math.max(maxRmse, slice.rmse, theirs?.rmse ?? 0);
    }
  }
  return figures(
    [
      [`Predicted vs actual (${candidate.metrics.charts.scatter.length} sampled test rows)`, scatter],
      ['Residuals', histogram],
      [
        'RMSE per slice',
        sliceRows.length > 0 ? barsSpec(sliceRows, present, { y: 'name', x: 'rmse', title: 'RMSE', domain: [0, maxRmse || 1] }) : null,
      ],
    ],
    'No slice has enough rows.',
  );
}

/** The charts section for a multiclass or regression candidate (and its champion, same task). */
export async function taskCharts(candidate: ReportModel, champion: ReportModel | undefined): Promise<string> {
  const m = candidate.metrics;
  if (!('task' in m)) throw new RangeError('binary reports have their own charts');
  return m.task === 'multiclass'
    ? multiclassCharts(candidate as Multiclass, champion as Multiclass | undefined)
    : regressionCharts(candidate as Regression, champion as Regression | undefined);
}
