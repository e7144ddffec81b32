// Pieces every task's evaluation report is built from: candidate/champion series and colours,
// captioned chart figures, and the metrics table with its latency and size rows.
import type { TopLevelSpec } from 'vega-lite';
import { CHART_SIZE, escapeHtml, renderSvg, SERIES_COLORS } from '../report/html.ts';
import type { ReportModel } from './report-html.ts';

export type Role = 'candidate' | 'champion';
export type Row = Record<string, string | number>;

const COLORS: Record<Role, string> = { candidate: SERIES_COLORS.judged, champion: SERIES_COLORS.baseline };

/** Horizontal bars per category (field `y`), candidate and champion side by side, starting at
 * the domain's floor so small differences stay visible. */
export function barsSpec(
  values: Row[],
  present: Role[],
  bars: { y: string; x: string; title: string; domain: [number, number] },
): TopLevelSpec {
  return {
    width: CHART_SIZE.width,
    height: { step: 11, for: 'offset' },
    data: { values },
    mark: { type: 'bar', clip: true },
    encoding: {
      y: { field: bars.y, type: 'nominal', title: null, sort: null },
      yOffset: { field: 'model', sort: present },
      x: { field: bars.x, type: 'quantitative', title: bars.title, scale: { domain: bars.domain } },
      x2: { datum: bars.domain[0] },
      color: colorEncoding(present),
    },
  };
}

export function roles<M>(candidate: M, champion: M | undefined): [Role, M][] {
  return champion
    ? [
        ['candidate', candidate],
        ['champion', champion],
      ]
    : [['candidate', candidate]];
}

export const colorEncoding = (present: Role[]) => ({
  field: 'model',
  type: 'nominal' as const,
  title: null,
  scale: { domain: present, range: present.map((r) => COLORS[r]) },
  legend: { orient: 'bottom-right' as const },
});

/** Each chart as a captioned figure; a null spec shows `missing` instead. */
export async function figures(sections: [string, TopLevelSpec | null][], missing: string): Promise<string> {
  const rendered = await Promise.all(
    sections.map(async ([title, spec]) => {
      const body = spec ? await renderSvg(spec) : `<p class="muted">${escapeHtml(missing)}</p>`;
      return `<figure><figcaption>${escapeHtml(title)}</figcaption>${body}</figure>`;
    }),
  );
  return `<div class="charts">${rendered.join('')}</div>`;
}

export const fixed = (digits: number) => (value: number) => value.toFixed(digits);

/** One table row: its name, what it shows of a model, and how a number is written. */
export type MetricRow<M> = [string, (m: M) => number | string | undefined, (v: number) => string];

/** Latency per measured batch size and model size: the rows every task's table ends with. */
export function costRows<M extends Omit<ReportModel, 'metrics'>>(candidate: M): MetricRow<M>[] {
  const latency =
    (batch: number, p: 'p50Ms' | 'p99Ms') =>
    (m: M): number | undefined =>
      m.latency?.find((l) => l.batchSize === batch)?.[p];
  const batches = [...new Set(candidate.latency?.map((l) => l.batchSize) ?? [])];
  return [
    ...batches.flatMap((b): MetricRow<M>[] => [
      [`p50 latency, batch ${b} (ms)`, latency(b, 'p50Ms'), fixed(3)],
      [`p99 latency, batch ${b} (ms)`, latency(b, 'p99Ms'), fixed(3)],
    ]),
    ['Model size (bytes)', (m) => m.sizeBytes, (v) => v.toLocaleString('en-US')],
  ];
}

/** The metrics table: a column per model, and the change when there is a champion. */
export function table<M extends { label?: string }>(rows: MetricRow<M>[], candidate: M, champion: M | undefined): string {
  const cell = (value: number | string | undefined, format: (v: number) => string) =>
    `<td>${value === undefined ? '—' : escapeHtml(typeof value === 'number' ? format(value) : value)}</td>`;
  const header = ['Metric', `Candidate${candidate.label ? ` (${candidate.label})` : ''}`];
  if (champion) header.push(`Champion${champion.label ? ` (${champion.label})` : ''}`, 'Δ');
  const body = rows.map(([name, pick, format]) => {
    const ours = pick(candidate);
    const cells = [`<th>${escapeHtml(name)}</th>`, cell(ours, format)];
    if (champion) {
      const theirs = pick(champion);
      const delta = typeof ours === 'number' && typeof theirs === 'number' ? ours - theirs : undefined;
      cells.push(
        cell(theirs, format),
        cell(delta, (v) => (v > 0 ? '+' : '') + format(v)),
      );
    }
    return `<tr>${cells.join('')}</tr>`;
  });
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}
