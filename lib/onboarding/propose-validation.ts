// Proposes a validation spec (README "Data validation") from what a table holds now: each
// column's type, whether it had nulls, and its observed range widened by a margin, so the next
// partition of the same data passes and a broken export (a renamed column, a unit change, a
// flood of nulls) does not.
import type { ValidationSpecInput } from '../data/validation/spec.ts';
import type { ColumnSummary, TableSummary } from './inspect.ts';
import { comment, flow, noted, outward, short, type FlowValue } from './yaml-text.ts';

/** Share of the observed span added below the minimum and above the maximum. */
export const RANGE_MARGIN = 0.1;

export interface ProposeValidationOptions {
  dataset: string;
  label: string;
  /** Columns the model reads (features, label, time): required; the others are not. */
  used: ReadonlySet<string>;
}

interface ColumnProposal {
  column: string;
  rule: Record<string, FlowValue>;
  why: string;
}

function numericBounds(c: ColumnSummary): { min: number; max: number; why: string } {
  const lo = c.min as number;
  const hi = c.max as number;
  const margin = hi > lo ? (hi - lo) * RANGE_MARGIN : Math.max(Math.abs(lo) * RANGE_MARGIN, 1);
  // A column that is never negative (counts, amounts, precipitation) stays so.
  let min = lo >= 0 ? Math.max(0, lo - margin) : lo - margin;
  let max = hi + margin;
  if (c.kind === 'integer') {
    min = Math.floor(min);
    max = Math.ceil(max);
  } else {
    min = outward(min, 'down');
    max = outward(max, 'up');
  }
  return { min, max, why: `seen ${short(lo)} to ${short(hi)}; bounds ${RANGE_MARGIN * 100}% of the span wider` };
}

function timeBounds(c: ColumnSummary): { min: string; max: string; why: string } {
  const first = Number(String(c.min).slice(0, 4));
  const last = Number(String(c.max).slice(0, 4));
  return {
    min: `${first - 1}-01-01T00:00:00`,
    max: `${last + 10}-12-31T23:59:59`,
    why: `seen ${c.min} to ${c.max}; later data is expected, so the upper bound is ten years on`,
  };
}

function columnProposal(c: ColumnSummary, rows: number, options: ProposeValidationOptions): ColumnProposal | undefined {
  if (c.kind === 'other') return undefined;
  const used = options.used.has(c.name);
  const rule: Record<string, FlowValue> = { type: c.kind, required: used };
  const why: string[] = [c.name === options.label ? 'the label' : used ? 'read by the model' : 'not read by the model'];
  if (c.nulls === 0) {
    rule.nullable = false;
    why.push('no nulls seen');
  } else {
    const ratio = c.nulls / Math.max(1, rows);
    rule.maxNullRatio = Math.min(1, outward(ratio * 2 + 0.01, 'up'));
    why.push(`${short(ratio * 100)}% nulls seen`);
  }
  if ((c.kind === 'integer' || c.kind === 'float') && c.min !== null && c.max !== null) {
    const b = numericBounds(c);
    Object.assign(rule, { min: b.min, max: b.max });
    why.push(b.why);
  } else if (c.kind === 'timestamp' && c.min !== null && c.max !== null) {
    const b = timeBounds(c);
    Object.assign(rule, { min: b.min, max: b.max });
    why.push(b.why);
  } else if (c.kind === 'string' && used && c.name !== options.label && c.distinct <= 1000) {
    rule.maxCategoryShareDelta = 0.1;
    why.push(`${c.distinct} distinct values; a warning when a category's share moves by more than 10 points`);
  }
  return { column: c.name, rule, why: why.join('; ') };
}

export interface ValidationProposal {
  spec: ValidationSpecInput;
  columns: ColumnProposal[];
  skipped: string[];
}

export function proposeValidation(summary: TableSummary, options: ProposeValidationOptions): ValidationProposal {
  const columns: ColumnProposal[] = [];
  const skipped: string[] = [];
  for (const c of summary.columns) {
    const p = columnProposal(c, summary.rows, options);
    if (p) columns.push(p);
    else skipped.push(c.name);
  }
  const spec: ValidationSpecInput = {
    dataset: options.dataset,
    rowCount: { min: 1 },
    allowExtraColumns: true,
    columns: Object.fromEntries(columns.map((p) => [p.column, p.rule])) as ValidationSpecInput['columns'],
  };
  return { spec, columns, skipped };
}

export function renderValidation(proposal: ValidationProposal, header: string): string {
  const lines = [
    ...comment(header),
    `dataset: ${flow(proposal.spec.dataset)}`,
    'rowCount:',
    noted('  min: 1', 'raise it to the fewest rows a real partition has'),
    noted('allowExtraColumns: true', 'a new column is a warning, not a failure'),
    'columns:',
  ];
  for (const p of proposal.columns) {
    lines.push(...comment(p.why, '  '), `  ${flow(p.column)}:`);
    for (const [k, v] of Object.entries(p.rule)) lines.push(`    ${k}: ${flow(v)}`);
  }
  if (proposal.skipped.length > 0)
    lines.push(...comment(`Not checked (no validation type for their DuckDB type): ${proposal.skipped.join(', ')}`));
  return `${lines.join('\n')}\n`;
}
