// Runs a validation spec over a table in DuckDB: one aggregate pass for the per-column checks,
// plus a GROUP BY per categorical column compared with a reference profile.
import type { Duck } from '../duck.ts';
import { sqlIdent, sqlString } from '../duck.ts';
import type { CategoricalProfile, DatasetProfile } from '../profile-types.ts';
import { buildReport, type ValidationProblem, type ValidationReport } from './report.ts';
import type { ColumnRule, ColumnType, ValidationSpec } from './spec.ts';

export interface ValidateTableOptions {
  /** SQL table expression to validate, e.g. `read_parquet('/tmp/x.parquet')` or a table name. */
  from: string;
  spec: ValidationSpec;
  subject: string;
  reference?: DatasetProfile;
  signal?: AbortSignal;
}

const EXAMPLES = 5;

export function logicalType(duckType: string): ColumnType | 'other' {
  const t = duckType.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/.test(t)) return 'integer';
  if (/^(FLOAT|DOUBLE|REAL)$/.test(t) || t.startsWith('DECIMAL')) return 'float';
  if (t === 'VARCHAR' || t.startsWith('VARCHAR')) return 'string';
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return 'timestamp';
  if (t === 'BOOLEAN') return 'boolean';
  return 'other';
}

function typeAccepts(expected: ColumnType, actual: ColumnType | 'other'): boolean {
  return expected === actual || (expected === 'float' && actual === 'integer');
}

function literal(rule: ColumnRule, value: number | string): string {
  if (rule.type === 'timestamp') return `TIMESTAMP ${sqlString(String(value))}`;
  return typeof value === 'number' ? String(value) : sqlString(value);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toPrecision(4);
}

function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.01 ? 3 : 2)}%`;
}

function display(v: unknown): string {
  return v instanceof Date ? v.toISOString() : String(v);
}

interface Check {
  alias: string;
  sql: string;
}

export async function validateTable(duck: Duck, options: ValidateTableOptions): Promise<ValidationReport> {
  const { spec, from, reference, signal } = options;
  const problems: ValidationProblem[] = [];
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const actual = new Map(described.map((c) => [c.column_name, c.column_type]));
  const [{ n: rows } = { n: 0 }] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${from}`, signal);

  if (rows === 0) {
    problems.push({
      severity: 'error',
      rule: 'empty',
      message: 'the data has 0 rows (empty file)',
      observed: 0,
      expected: `≥ ${spec.rowCount.min ?? 1}`,
    });
    return buildReport(spec.dataset, options.subject, 0, problems, reference !== undefined);
  }
  if (spec.rowCount.min !== undefined && rows < spec.rowCount.min) {
    problems.push({
      severity: 'error',
      rule: 'row_count',
      message: `${rows} rows, fewer than the minimum ${spec.rowCount.min}`,
      observed: rows,
      expected: { min: spec.rowCount.min },
    });
  }
  if (spec.rowCount.max !== undefined && rows > spec.rowCount.max) {
    problems.push({
      severity: 'error',
      rule: 'row_count',
      message: `${rows} rows, more than the maximum ${spec.rowCount.max}`,
      observed: rows,
      expected: { max: spec.rowCount.max },
    });
  }
  if (reference && reference.rows > 0) {
    const { min, max } = spec.reference.rowCountFactor;
    if (rows < reference.rows * min || rows > reference.rows * max) {
      problems.push({
        severity: 'warning',
        rule: 'row_count_vs_reference',
        message: `${rows} rows vs ${reference.rows} in the reference (outside ${min}×–${max}×)`,
        observed: rows,
        expected: { min: Math.ceil(reference.rows * min), max: Math.floor(reference.rows * max) },
      });
    }
  }

  const extra = [...actual.keys()].filter((c) => !(c in spec.columns));
  const checked: Array<[string, ColumnRule]> = [];
  for (const [column, rule] of Object.entries(spec.columns)) {
    const duckType = actual.get(column);
    if (duckType === undefined) {
      if (rule.required) {
        problems.push({
          severity: 'error',
          rule: 'missing_column',
          column,
          message: `column ${column} is missing${extra.length ? ` (unexpected columns present: ${extra.join(', ')} — renamed?)` : ''}`,
          expected: rule.type,
          observed: [...actual.keys()],
        });
      }
      continue;
    }
    const found = logicalType(duckType);
    if (!typeAccepts(rule.type, found)) {
      problems.push({
        severity: 'error',
        rule: 'type',
        column,
        message: `column ${column} has type ${duckType}, expected ${rule.type}`,
        observed: duckType,
        expected: rule.type,
      });
      continue;
    }
    checked.push([column, rule]);
  }
  for (const column of extra) {
    problems.push({
      severity: spec.allowExtraColumns ? 'warning' : 'error',
      rule: 'extra_column',
      column,
      message: `column ${column} (${actual.get(column)}) is not in the spec`,
    });
  }

  // One aggregate pass over every check of every present column.
  const checks: Check[] = [];
  const refCats = new Map<string, CategoricalProfile>();
  checked.forEach(([column, rule], i) => {
    const c = sqlIdent(column);
    checks.push({ alias: `nn_${i}`, sql: `count(${c})` });
    if (rule.min !== undefined || rule.max !== undefined) {
      checks.push({ alias: `lo_${i}`, sql: `min(${c})` }, { alias: `hi_${i}`, sql: `max(${c})` });
      if (rule.min !== undefined) checks.push({ alias: `below_${i}`, sql: `count(*) FILTER (WHERE ${c} < ${literal(rule, rule.min)})` });
      if (rule.max !== undefined) checks.push({ alias: `above_${i}`, sql: `count(*) FILTER (WHERE ${c} > ${literal(rule, rule.max)})` });
    }
    if (rule.allowed) {
      const cond = `${c} IS NOT NULL AND ${c}::VARCHAR NOT IN (${rule.allowed.map(sqlString).join(', ')})`;
      checks.push({ alias: `notallowed_${i}`, sql: `count(*) FILTER (WHERE ${cond})` });
      checks.push({ alias: `notallowedx_${i}`, sql: `(list(DISTINCT ${c}::VARCHAR) FILTER (WHERE ${cond}))[1:${EXAMPLES}]` });
    }
    if (rule.pattern) {
      const cond = `${c} IS NOT NULL AND NOT regexp_full_match(${c}::VARCHAR, ${sqlString(rule.pattern)})`;
      checks.push({ alias: `badpat_${i}`, sql: `count(*) FILTER (WHERE ${cond})` });
      checks.push({ alias: `badpatx_${i}`, sql: `(list(DISTINCT ${c}::VARCHAR) FILTER (WHERE ${cond}))[1:${EXAMPLES}]` });
    }
    const ref = reference?.features[column];
    if (ref?.kind === 'categorical' && (rule.maxUnseenShare !== undefined || rule.type === 'string')) {
      refCats.set(column, ref);
      const known = `[${ref.top.map((t) => sqlString(t.value)).join(', ')}]::VARCHAR[]`;
      const cond = `${c} IS NOT NULL AND NOT list_contains(${known}, ${c}::VARCHAR)`;
      checks.push({ alias: `unseen_${i}`, sql: `count(*) FILTER (WHERE ${cond})` });
      checks.push({ alias: `unseend_${i}`, sql: `approx_count_distinct(${c}) FILTER (WHERE ${cond})` });
      checks.push({ alias: `unseenx_${i}`, sql: `(list(DISTINCT ${c}::VARCHAR) FILTER (WHERE ${cond}))[1:${EXAMPLES}]` });
    }
  });
  const agg = checks.length
    ? ((await duck.all(`SELECT ${checks.map((k) => `${k.sql} AS ${k.alias}`).join(', ')} FROM ${from}`, signal))[0] ?? {})
    : {};
  const num = (key: string) => Number(agg[key] ?? 0);

  for (const [i, [column, rule]] of checked.entries()) {
    const nulls = rows - num(`nn_${i}`);
    const nullRatio = nulls / rows;
    if (!rule.nullable && nulls > 0) {
      problems.push({
        severity: 'error',
        rule: 'not_null',
        column,
        message: `column ${column} has ${nulls} nulls (${pct(nullRatio)}) but is not nullable`,
        observed: nulls,
        expected: 0,
      });
    } else if (rule.maxNullRatio !== undefined && nullRatio > rule.maxNullRatio) {
      problems.push({
        severity: 'error',
        rule: 'null_ratio',
        column,
        message: `column ${column} null ratio ${pct(nullRatio)} exceeds ${pct(rule.maxNullRatio)} (${nulls} of ${rows} rows)`,
        observed: nullRatio,
        expected: { max: rule.maxNullRatio },
      });
    }
    const refFeature = reference?.features[column];
    if (refFeature && refFeature.count > 0) {
      const refRatio = refFeature.nulls / refFeature.count;
      const { maxNullRatioFactor: factor, nullRatioFloor: floor } = spec.reference;
      if (nullRatio > floor && nullRatio >= refRatio * factor) {
        problems.push({
          severity: 'error',
          rule: 'null_ratio_vs_reference',
          column,
          message:
            refRatio > 0
              ? `column ${column} null ratio ${pct(nullRatio)} is ${fmt(nullRatio / refRatio)}× the reference ${pct(refRatio)} (limit ${factor}×; ${nulls} nulls)`
              : `column ${column} null ratio ${pct(nullRatio)} where the reference had no nulls (${nulls} nulls)`,
          observed: nullRatio,
          expected: { referenceRatio: refRatio, maxFactor: factor },
        });
      }
    }
    const below = num(`below_${i}`);
    const above = num(`above_${i}`);
    if (below + above > 0) {
      const lo = display(agg[`lo_${i}`]);
      const hi = display(agg[`hi_${i}`]);
      problems.push({
        severity: 'error',
        rule: 'range',
        column,
        message: `column ${column} has ${below + above} values out of range [${rule.min ?? '-∞'}, ${rule.max ?? '∞'}] (${below} below, ${above} above; observed min ${lo}, max ${hi})`,
        observed: { below, above, min: lo, max: hi },
        expected: { min: rule.min, max: rule.max },
      });
    }
    if (num(`notallowed_${i}`) > 0) {
      const examples = agg[`notallowedx_${i}`] as string[];
      problems.push({
        severity: 'error',
        rule: 'allowed',
        column,
        message: `column ${column} has ${num(`notallowed_${i}`)} values outside the allowed set (e.g. ${examples.join(', ')})`,
        observed: examples,
      });
    }
    if (num(`badpat_${i}`) > 0) {
      const examples = agg[`badpatx_${i}`] as string[];
      problems.push({
        severity: 'error',
        rule: 'pattern',
        column,
        message: `column ${column} has ${num(`badpat_${i}`)} values not matching /${rule.pattern}/ (e.g. ${examples.join(', ')})`,
        observed: examples,
      });
    }
    if (refCats.has(column)) {
      const unseen = num(`unseen_${i}`);
      const nonNull = num(`nn_${i}`);
      const share = nonNull ? unseen / nonNull : 0;
      if (unseen > 0) {
        const examples = agg[`unseenx_${i}`] as string[];
        const hard = rule.maxUnseenShare !== undefined && share > rule.maxUnseenShare;
        problems.push({
          severity: hard ? 'error' : 'warning',
          rule: 'unseen_categories',
          column,
          message: `column ${column} has ${num(`unseend_${i}`)} categories unseen in the reference covering ${pct(share)} of rows${hard ? ` (limit ${pct(rule.maxUnseenShare!)})` : ''} (e.g. ${examples.join(', ')})`,
          observed: { rows: unseen, share, distinct: num(`unseend_${i}`), examples },
          expected: { maxShare: rule.maxUnseenShare },
        });
      }
    }
  }

  // Category shares vs the reference (soft): a GROUP BY per column that asks for it.
  for (const [column, rule] of checked) {
    const ref = refCats.get(column);
    if (!ref || rule.maxCategoryShareDelta === undefined) continue;
    const counts = await duck.all<{ v: string; n: number }>(
      `SELECT ${sqlIdent(column)}::VARCHAR AS v, count(*)::BIGINT AS n FROM ${from} WHERE ${sqlIdent(column)} IS NOT NULL GROUP BY 1`,
      signal,
    );
    const total = counts.reduce((s, r) => s + r.n, 0);
    const refTotal = ref.count - ref.nulls;
    const cur = new Map(counts.map((r) => [r.v, r.n / total]));
    let worst = { category: '', delta: 0, cur: 0, ref: 0 };
    for (const cat of new Set([...cur.keys(), ...ref.top.map((t) => t.value)])) {
      const refShare = (ref.top.find((t) => t.value === cat)?.count ?? 0) / refTotal;
      const curShare = cur.get(cat) ?? 0;
      const delta = Math.abs(curShare - refShare);
      if (delta > worst.delta) worst = { category: cat, delta, cur: curShare, ref: refShare };
    }
    if (worst.delta > rule.maxCategoryShareDelta) {
      problems.push({
        severity: 'warning',
        rule: 'category_share',
        column,
        message: `column ${column} category ${worst.category} share ${pct(worst.cur)} vs ${pct(worst.ref)} in the reference (change ${pct(worst.delta)} > ${pct(rule.maxCategoryShareDelta)})`,
        observed: worst,
        expected: { maxDelta: rule.maxCategoryShareDelta },
      });
    }
  }

  return buildReport(spec.dataset, options.subject, rows, problems, reference !== undefined);
}
