// Reading a spec's source columns out of DuckDB in the shapes the encoder takes: numbers and
// booleans as DOUBLE, timestamps as epoch ms, categories as text, vectors as DOUBLE lists.
import { sqlIdent, sqlString } from '../../data/duck.ts';
import type { FeatureBatch, FeatureColumn } from './encode.ts';
import { inputColumns } from './instances.ts';
import { sourceColumn, type FeatureSpec, type InputKind } from './spec.ts';
import type { FittedFeatures } from './state.ts';

function selectOne(column: string, kind: InputKind): string {
  const c = sqlIdent(column);
  switch (kind) {
    case 'number':
    case 'boolean':
      return `CAST(${c} AS DOUBLE) AS ${c}`;
    case 'string':
      return `CAST(${c} AS VARCHAR) AS ${c}`;
    case 'timestamp':
      return `epoch_ms(CAST(${c} AS TIMESTAMP))::DOUBLE AS ${c}`;
    default:
      return `CAST(${c} AS DOUBLE[]) AS ${c}`;
  }
}

/** The SELECT list (`… AS "col", …`) that reads every source column of the spec. */
export function featureColumnsSelect(spec: FeatureSpec): string {
  return inputColumns(spec)
    .map(({ column, kind }) => selectOne(column, kind))
    .join(', ');
}

/** NULL → NaN into a typed array. A plain loop: `Float64Array.from` with a map function goes
 * through the iterator protocol and cost ~0.5 s per 3M rows × 2 columns (bench:batch). */
function toFloat64(values: readonly (number | null)[]): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[i] = v === null || v === undefined ? NaN : v;
  }
  return out;
}

/** Turns `Duck.columns` output of featureColumnsSelect into a batch: numbers become Float64Arrays
 * (NULL → NaN), the rest pass as they are. */
export function batchFromDuckColumns(spec: FeatureSpec, cols: Record<string, unknown[]>): FeatureBatch {
  let rows = 0;
  const columns: Record<string, FeatureColumn> = {};
  for (const { column, kind } of inputColumns(spec)) {
    const values = cols[column] ?? [];
    rows = values.length;
    columns[column] =
      kind === 'number' || kind === 'boolean' || kind === 'timestamp' ? toFloat64(values as (number | null)[]) : (values as FeatureColumn);
  }
  return { rows, columns };
}

/** Largest vocabulary mapped to codes inside DuckDB (it becomes an ENUM type in the query text). */
const MAX_SQL_VOCABULARY = 65_536;

/**
 * The columnar read of a fitted spec: a SELECT list in which every source column comes back as
 * a number per row, so `Duck.typedColumns` reads it without a JS value per row — numbers,
 * booleans and timestamps as DOUBLE with NULL → NaN, and each vocabulary categorical as its
 * INTEGER vocabulary index, computed by DuckDB (`enum_code` of a cast to an ENUM of the
 * vocabulary; NULL and unseen values → the unseen bucket). The encoder takes those codes for the
 * strings (encode.ts, StringColumn) and writes the same vectors. `undefined` when a feature needs
 * the values themselves (hashed categoricals, vectors, a categorical's column that another
 * feature also reads, a vocabulary over 65,536 values): read with featureColumnsSelect then.
 */
export function columnarFeatureSelect(fitted: FittedFeatures): string | undefined {
  const uses = new Map<string, number>();
  for (const def of fitted.spec.features) uses.set(sourceColumn(def), (uses.get(sourceColumn(def)) ?? 0) + 1);
  const codes = new Map<string, string>();
  for (const [i, def] of fitted.spec.features.entries()) {
    if (def.kind === 'vector') return undefined;
    if (def.kind !== 'categorical') continue;
    const state = fitted.state[i];
    const vocabulary = state?.kind === 'categorical' ? state.vocabulary : undefined;
    if (def.hash || !vocabulary || vocabulary.length > MAX_SQL_VOCABULARY || uses.get(sourceColumn(def)) !== 1) return undefined;
    const c = sqlIdent(sourceColumn(def));
    // An empty ENUM is not a type: every value is then unseen (code 0 = the vocabulary's size).
    codes.set(
      sourceColumn(def),
      vocabulary.length === 0
        ? `0::INTEGER AS ${c}`
        : `coalesce(enum_code(TRY_CAST(CAST(${c} AS VARCHAR) AS ENUM(${vocabulary.map(sqlString).join(', ')}))), ${vocabulary.length})::INTEGER AS ${c}`,
    );
  }
  return inputColumns(fitted.spec)
    .map(({ column, kind }) => {
      const code = codes.get(column);
      if (code) return code;
      const c = sqlIdent(column);
      return kind === 'timestamp'
        ? `coalesce(epoch_ms(CAST(${c} AS TIMESTAMP))::DOUBLE, 'NaN'::DOUBLE) AS ${c}`
        : `coalesce(CAST(${c} AS DOUBLE), 'NaN'::DOUBLE) AS ${c}`;
    })
    .join(', ');
}
