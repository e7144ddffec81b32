// Fits a tabular feature spec on a training table in DuckDB: one query for every numeric
// statistic, one per vocabulary and one per standardised vector. Deterministic: vocabularies are
// ordered by frequency, ties by value. A spec that does not match the table's columns fails with a
// report naming each feature before anything is fitted.
import { sqlIdent, type Duck } from '../../data/duck.ts';
import {
  parseFeatureSpec,
  sourceColumn,
  type FeatureDef,
  type FeatureSpec,
  type FeatureSpecInput,
  type NumericFeature,
  type VectorFeature,
} from './spec.ts';
import { FITTED_FEATURES_FORMAT, type FeatureState, type FittedFeatures } from './state.ts';

export interface FitFeaturesOptions {
  /** Dataset version (or any label) recorded as `fittedOn`. @default the table expression */
  fittedOn?: string;
  signal?: AbortSignal;
}

export class FeatureDataError extends Error {
  override readonly name = 'FeatureDataError';
  constructor(readonly problems: string[]) {
    super(`the feature spec does not match the data:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}

const NUMBER_TYPES = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const FLOATING = /^(FLOAT|DOUBLE)$/;
const TIMESTAMP_TYPES = /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|DATE|VARCHAR)$/;
const LIST_OF_NUMBERS = /^(.+?)(\[\d*\])$/;

/** Why a column of this DuckDB type cannot feed the feature, or null when it can. */
function typeProblem(def: FeatureDef, type: string): string | null {
  switch (def.kind) {
    case 'numeric':
      return NUMBER_TYPES.test(type) ? null : `is ${type}, numeric needs a number column`;
    case 'boolean':
      return type === 'BOOLEAN' || NUMBER_TYPES.test(type) ? null : `is ${type}, boolean needs BOOLEAN or 0/1 numbers`;
    case 'datetime':
      return TIMESTAMP_TYPES.test(type) ? null : `is ${type}, datetime needs a TIMESTAMP, DATE or ISO text column`;
    case 'vector': {
      const m = LIST_OF_NUMBERS.exec(type);
      return m && NUMBER_TYPES.test(m[1]!) ? null : `is ${type}, vector needs a list of numbers`;
    }
    case 'categorical':
      return null; // any type: values are compared as text
  }
}

async function checkColumns(duck: Duck, from: string, spec: FeatureSpec, signal?: AbortSignal): Promise<Map<string, string>> {
  const described = await duck.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`, signal);
  const types = new Map(described.map((c) => [c.column_name, c.column_type]));
  const problems: string[] = [];
  for (const def of spec.features) {
    const column = sourceColumn(def);
    const type = types.get(column);
    const problem = type === undefined ? 'is not in the data' : typeProblem(def, type);
    if (problem) problems.push(`feature ${def.name}: column ${column} ${problem}`);
  }
  if (problems.length) throw new FeatureDataError(problems);
  return types;
}

/** The value the numeric statistics are taken over: clipped, then log1p, as the encoder sees it
 * (the bare column when there is no transform, so the aggregates read it as stored). */
function transformedSql(def: NumericFeature): string {
  let x = sqlIdent(sourceColumn(def));
  if (!def.clip && !def.log1p) return x;
  x = `${x}::DOUBLE`;
  if (def.clip) x = `greatest(${def.clip[0]}::DOUBLE, least(${def.clip[1]}::DOUBLE, ${x}))`;
  if (def.log1p) x = `CASE WHEN ${x} > -1 THEN ln(1 + ${x}) END`;
  return x;
}

const nonZero = (v: number | null | undefined, fallback = 1) =>
  v === null || v === undefined || !Number.isFinite(v) || v === 0 ? fallback : v;

async function fitNumeric(duck: Duck, from: string, defs: NumericFeature[], types: Map<string, string>, signal?: AbortSignal) {
  if (!defs.length) return [];
  const select: string[] = [];
  defs.forEach((def, i) => {
    const raw = sqlIdent(sourceColumn(def));
    const filter = FLOATING.test(types.get(sourceColumn(def)) ?? '') ? ` FILTER (WHERE isfinite(${raw}))` : '';
    const x = transformedSql(def);
    if (def.impute === 'mean') select.push(`avg(${raw})${filter}::DOUBLE AS i${i}`);
    else if (def.impute === 'median') select.push(`quantile_cont(${raw}, 0.5)${filter}::DOUBLE AS i${i}`);
    if (def.scale === 'standard') select.push(`avg(${x})${filter}::DOUBLE AS c${i}`, `stddev_pop(${x})${filter}::DOUBLE AS s${i}`);
    else if (def.scale === 'robust')
      select.push(
        `quantile_cont(${x}, 0.5)${filter}::DOUBLE AS c${i}`,
        `(quantile_cont(${x}, 0.75)${filter} - quantile_cont(${x}, 0.25)${filter})::DOUBLE AS s${i}`,
      );
    else if (def.scale === 'minmax')
      select.push(`min(${x})${filter}::DOUBLE AS c${i}`, `(max(${x})${filter} - min(${x})${filter})::DOUBLE AS s${i}`);
  });
  const [row = {}] = select.length ? await duck.all<Record<string, number | null>>(`SELECT ${select.join(', ')} FROM ${from}`, signal) : [];
  return defs.map((def, i): FeatureState => {
    const impute = typeof def.impute === 'object' ? def.impute.constant : (row[`i${i}`] ?? 0);
    return def.scale === 'none'
      ? { kind: 'numeric', impute, center: 0, scale: 1 }
      : { kind: 'numeric', impute, center: row[`c${i}`] ?? 0, scale: nonZero(row[`s${i}`]) };
  });
}

async function fitVocabulary(duck: Duck, from: string, column: string, minCount: number, maxSize: number, signal?: AbortSignal) {
  const c = sqlIdent(column);
  const rows = await duck.all<{ v: string }>(
    `SELECT CAST(${c} AS VARCHAR) AS v FROM ${from} WHERE ${c} IS NOT NULL GROUP BY 1 HAVING count(*) >= ${minCount}
     ORDER BY count(*) DESC, v ASC LIMIT ${maxSize}`,
    signal,
  );
  return rows.map((r) => r.v);
}

async function fitVector(duck: Duck, from: string, def: VectorFeature, signal?: AbortSignal): Promise<FeatureState> {
  if (!def.standardize) return { kind: 'vector' };
  const c = sqlIdent(sourceColumn(def));
  const rows = await duck.all<{ i: number; mean: number | null; std: number | null }>(
    `SELECT i, avg(x)::DOUBLE AS mean, stddev_pop(x)::DOUBLE AS std
     FROM (SELECT unnest(range(1, len(${c}) + 1)) AS i, unnest(${c})::DOUBLE AS x FROM ${from} WHERE len(${c}) = ${def.length})
     WHERE isfinite(x) GROUP BY i ORDER BY i`,
    signal,
  );
  const center = new Array<number>(def.length).fill(0);
  const scale = new Array<number>(def.length).fill(1);
  for (const r of rows) {
    center[r.i - 1] = r.mean ?? 0;
    scale[r.i - 1] = nonZero(r.std);
  }
  return { kind: 'vector', center, scale };
}

/** Fits `spec` (parsed, or as written: it is validated here) on the rows of `from` (a table, a
 * view or `read_parquet(…)`). */
export async function fitFeatures(
  duck: Duck,
  from: string,
  spec: FeatureSpecInput,
  options: FitFeaturesOptions = {},
): Promise<FittedFeatures> {
  const parsed = parseFeatureSpec(spec);
  const types = await checkColumns(duck, from, parsed, options.signal);
  const numeric = parsed.features.filter((d): d is NumericFeature => d.kind === 'numeric');
  const numericStates = await fitNumeric(duck, from, numeric, types, options.signal);
  const [count] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${from}`, options.signal);
  const state: FeatureState[] = [];
  for (const def of parsed.features) {
    switch (def.kind) {
      case 'numeric':
        state.push(numericStates[numeric.indexOf(def)]!);
        break;
      case 'categorical':
        state.push(
          def.vocabulary
            ? {
                kind: 'categorical',
                vocabulary: await fitVocabulary(
                  duck,
                  from,
                  sourceColumn(def),
                  def.vocabulary.minCount,
                  def.vocabulary.maxSize,
                  options.signal,
                ),
              }
            : { kind: 'categorical' },
        );
        break;
      case 'vector':
        state.push(await fitVector(duck, from, def, options.signal));
        break;
      case 'boolean':
      case 'datetime':
        state.push({ kind: def.kind });
    }
  }
  return { format: FITTED_FEATURES_FORMAT, spec: parsed, state, fittedOn: options.fittedOn ?? from, rows: count?.n ?? 0 };
}
