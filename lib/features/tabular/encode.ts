// The columnar encoder: raw columns in (typed arrays, string arrays), row-major Float32 vectors
// out. A fitted spec compiles once into one loop per feature with its lookups prebuilt, so encoding
// allocates nothing per row; training, batch scoring and serving all call the same `encode`.
import { fnv1a32 } from '../../hash.ts';
import { dayOfMonthOfMs, dayOfWeekOfMs, daysInMonthOfMs, hourOfMs, monthOfMs } from '../../time/naive-timestamp.ts';
import { sourceColumn, type DatetimePart, type FeatureDef } from './spec.ts';
import {
  fittedDimension,
  fittedFeatureNames,
  fittedFeaturesHash,
  PART_SIZES,
  widthOf,
  type FeatureState,
  type FittedFeatures,
} from './state.ts';

/** Missing numbers are `null`, NaN or ±Infinity. A plain array or a Float64Array both work. */
export type NumberColumn = ArrayLike<number | null>;
/** Category values; `null` (or any value outside the vocabulary) goes to the unseen bucket. For a
 * vocabulary feature an Int32Array instead holds each row's vocabulary index, computed by the
 * reader (columnarFeatureSelect: DuckDB maps values to codes); a code outside the vocabulary
 * (its size, or −1) is the unseen bucket. */
export type StringColumn = ArrayLike<string | null> | Int32Array;
/** `true`/`false`, `1`/`0`; `null` or NaN takes the feature's impute value. */
export type BooleanColumn = ArrayLike<boolean | number | null>;
/** Naive timestamps as epoch milliseconds (UTC math); `null` or NaN encodes as all zeros. */
export type TimestampColumn = ArrayLike<number | null>;
/** One array per row, or one flat row-major array of rows × length; `null` or non-finite elements
 * take the training mean (0 after standardisation). */
export type VectorColumn = ArrayLike<ArrayLike<number> | null> | Float64Array | Float32Array;

export type FeatureColumn = NumberColumn | StringColumn | BooleanColumn | TimestampColumn | VectorColumn;

/** Raw inputs for many rows, columnar: one array per source column, keyed by column name. */
export interface FeatureBatch {
  rows: number;
  columns: Readonly<Record<string, FeatureColumn | undefined>>;
}

export class FeatureInputError extends Error {
  override readonly name = 'FeatureInputError';
}

/** Writes one feature of rows [start, end) into `x` at column `offset` of rows `dim` wide. */
type FeatureWriter = (column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) => void;

const TWO_PI = 2 * Math.PI;
/** Rows encoded feature by feature before moving on (a block of output stays in cache). */
const BLOCK_ROWS = 256;

function numericWriter(state: Extract<FeatureState, { kind: 'numeric' }>, def: Extract<FeatureDef, { kind: 'numeric' }>, offset: number) {
  const { impute, center, scale } = state;
  const lo = def.clip?.[0] ?? -Infinity;
  const hi = def.clip?.[1] ?? Infinity;
  const clip = def.clip !== undefined;
  const log1p = def.log1p;
  const transform = (v: number): number => {
    if (clip) v = v < lo ? lo : v > hi ? hi : v;
    if (log1p) v = Math.log1p(v);
    return v;
  };
  const imputed = transform(impute);
  // A value log1p cannot take (≤ −1) encodes like a missing one rather than as NaN.
  const fallback = (Number.isNaN(imputed) ? 0 : imputed - center) / scale;
  if (!clip && !log1p)
    return function writeNumeric(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
      const col = column as NumberColumn;
      for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
        const v = col[i];
        x[o] = v === null || v === undefined || v - v !== 0 ? fallback : (v - center) / scale;
      }
    };
  return function writeNumericTransformed(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
    const col = column as NumberColumn;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const v = col[i];
      const t = v === null || v === undefined || v - v !== 0 ? NaN : transform(v);
      x[o] = t !== t ? fallback : (t - center) / scale;
    }
  };
}

function categoricalWriter(def: Extract<FeatureDef, { kind: 'categorical' }>, state: FeatureState | undefined, offset: number) {
  const index = def.encoding === 'index';
  if (def.hash) {
    const buckets = def.hash.buckets;
    return function writeHashed(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
      const col = column as ArrayLike<string | null>;
      for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
        const b = fnv1a32(col[i] ?? '') % buckets;
        if (index) x[o] = b;
        else x[o + b] = 1;
      }
    };
  }
  const vocabulary = state?.kind === 'categorical' ? (state.vocabulary ?? []) : [];
  const lookup = new Map(vocabulary.map((v, i) => [v, i]));
  const oov = vocabulary.length;
  const writeCodes = function writeVocabularyCodes(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
    const col = column as Int32Array;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const c = col[i]!;
      const k = c >= 0 && c < oov ? c : oov;
      if (index) x[o] = k;
      else x[o + k] = 1;
    }
  };
  return function writeVocabulary(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
    if (column instanceof Int32Array) return writeCodes(column, x, start, end, dim);
    const col = column as ArrayLike<string | null>;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const k = lookup.get(col[i]!) ?? oov;
      if (index) x[o] = k;
      else x[o + k] = 1;
    }
  };
}

function booleanWriter(def: Extract<FeatureDef, { kind: 'boolean' }>, offset: number) {
  const imputed = def.impute ? 1 : 0;
  return function writeBoolean(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
    const col = column as BooleanColumn;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const v = col[i];
      x[o] = v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : imputed;
    }
  };
}

const PART_OF: Record<DatetimePart, (ms: number) => number> = {
  hour: hourOfMs,
  dayOfWeek: dayOfWeekOfMs,
  month: monthOfMs,
  dayOfMonth: (ms) => dayOfMonthOfMs(ms) - 1,
};

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

// Hour and day of week are the common parts: each gets its own loop with the arithmetic inline
// (one shared loop calling a part function would be polymorphic there and slower).
function hourOneHotWriter(offset: number): FeatureWriter {
  return function writeHourOneHot(column, x, start, end, dim) {
    const col = column as TimestampColumn;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const ms = col[i];
      if (ms === null || ms === undefined || ms !== ms) continue;
      x[o + Math.floor((((ms % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_HOUR)] = 1;
    }
  };
}

function dayOfWeekOneHotWriter(offset: number): FeatureWriter {
  return function writeDayOfWeekOneHot(column, x, start, end, dim) {
    const col = column as TimestampColumn;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const ms = col[i];
      if (ms === null || ms === undefined || ms !== ms) continue;
      x[o + ((((Math.floor(ms / MS_PER_DAY) + 3) % 7) + 7) % 7)] = 1;
    }
  };
}

function datetimePartWriter(part: DatetimePart, cyclic: boolean, offset: number): FeatureWriter {
  if (!cyclic && part === 'hour') return hourOneHotWriter(offset);
  if (!cyclic && part === 'dayOfWeek') return dayOfWeekOneHotWriter(offset);
  const of = PART_OF[part];
  if (cyclic) {
    const period = PART_SIZES[part];
    const monthly = part === 'dayOfMonth';
    return function writeCyclic(column, x, start, end, dim) {
      const col = column as TimestampColumn;
      for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
        const ms = col[i];
        if (ms === null || ms === undefined || ms !== ms) continue;
        const angle = (TWO_PI * of(ms)) / (monthly ? daysInMonthOfMs(ms) : period);
        x[o] = Math.sin(angle);
        x[o + 1] = Math.cos(angle);
      }
    };
  }
  return function writeOneHot(column, x, start, end, dim) {
    const col = column as TimestampColumn;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const ms = col[i];
      if (ms === null || ms === undefined || ms !== ms) continue;
      x[o + of(ms)] = 1;
    }
  };
}

function vectorWriter(def: Extract<FeatureDef, { kind: 'vector' }>, state: FeatureState | undefined, offset: number) {
  const len = def.length;
  const center = state?.kind === 'vector' && state.center ? Float64Array.from(state.center) : new Float64Array(len);
  const scale = state?.kind === 'vector' && state.scale ? Float64Array.from(state.scale) : new Float64Array(len).fill(1);
  const put = (x: Float32Array, o: number, k: number, v: number | null | undefined) => {
    x[o + k] = v === null || v === undefined || v - v !== 0 ? 0 : (v - center[k]!) / scale[k]!;
  };
  return function writeVector(column: FeatureColumn, x: Float32Array, start: number, end: number, dim: number) {
    if (column instanceof Float64Array || column instanceof Float32Array) {
      for (let i = start, o = start * dim + offset; i < end; i++, o += dim) for (let k = 0; k < len; k++) put(x, o, k, column[i * len + k]);
      return;
    }
    const col = column as ArrayLike<ArrayLike<number | null> | null>;
    for (let i = start, o = start * dim + offset; i < end; i++, o += dim) {
      const v = col[i];
      if (v === null || v === undefined) {
        for (let k = 0; k < len; k++) put(x, o, k, null);
        continue;
      }
      if (v.length !== len) throw new FeatureInputError(`feature ${def.name}: row ${i} has ${v.length} elements, needs ${len}`);
      for (let k = 0; k < len; k++) put(x, o, k, v[k]);
    }
  };
}

function writersFor(def: FeatureDef, state: FeatureState | undefined, offset: number): FeatureWriter[] {
  switch (def.kind) {
    case 'numeric':
      if (state?.kind !== 'numeric') throw new FeatureInputError(`feature ${def.name}: no fitted numeric state`);
      return [numericWriter(state, def, offset)];
    case 'categorical':
      return [categoricalWriter(def, state, offset)];
    case 'boolean':
      return [booleanWriter(def, offset)];
    case 'datetime': {
      let o = offset;
      return def.parts.map(({ part, encoding }) => {
        const w = datetimePartWriter(part, encoding === 'cyclic', o);
        o += encoding === 'cyclic' ? 2 : PART_SIZES[part];
        return w;
      });
    }
    case 'vector':
      return [vectorWriter(def, state, offset)];
  }
}

export interface FeatureEncoder {
  /** Inputs per encoded row. */
  readonly dimension: number;
  /** sha256 of the fitted spec and state (fittedFeaturesHash). */
  readonly hash: string;
  readonly fitted: FittedFeatures;
  /** Output names in order (`hour=3`, `city=<oov>`). */
  names(): string[];
  /** Source columns the batch must carry. */
  readonly columns: readonly string[];
  /** Encodes `batch.rows` rows into row-major vectors, into `out` when given (it must hold
   * rows × dimension values; the rest of it is left alone). */
  encode(batch: FeatureBatch, out?: Float32Array): Float32Array;
}

/** Compiles fitted features into an encoder; build it once per model version and reuse it. */
export function createFeatureEncoder(fitted: FittedFeatures): FeatureEncoder {
  const dimension = fittedDimension(fitted);
  const plan: { column: string; write: FeatureWriter }[] = [];
  let offset = 0;
  fitted.spec.features.forEach((def, i) => {
    const state = fitted.state[i];
    for (const write of writersFor(def, state, offset)) plan.push({ column: sourceColumn(def), write });
    offset += widthOf(def, state);
  });
  const columns = [...new Set(plan.map((p) => p.column))];
  // Values per row a column holds when it comes flat (a vector feature's length), else 1.
  const perRow = new Map(columns.map((c) => [c, 1]));
  for (const def of fitted.spec.features) if (def.kind === 'vector') perRow.set(sourceColumn(def), def.length);
  return {
    dimension,
    hash: fittedFeaturesHash(fitted),
    fitted,
    columns,
    names: () => fittedFeatureNames(fitted),
    encode(batch: FeatureBatch, out?: Float32Array): Float32Array {
      const n = batch.rows;
      const size = n * dimension;
      const x = out ?? new Float32Array(size);
      if (x.length < size) throw new RangeError(`output buffer holds ${x.length} values, needs ${size}`);
      for (const column of columns) {
        const col = batch.columns[column];
        if (!col) throw new FeatureInputError(`the batch has no column ${column}`);
        const flat = perRow.get(column)! > 1 && (col instanceof Float64Array || col instanceof Float32Array);
        if (col.length < (flat ? n * perRow.get(column)! : n))
          throw new FeatureInputError(
            `column ${column} has ${col.length} ${flat ? 'values' : 'rows'}, the batch needs ${flat ? n * perRow.get(column)! : n}`,
          );
      }
      // Row blocks keep the rows being written in cache while every feature's loop visits them.
      const cols = plan.map((p) => batch.columns[p.column]!);
      for (let start = 0; start < n; start += BLOCK_ROWS) {
        const end = Math.min(n, start + BLOCK_ROWS);
        if (out) x.fill(0, start * dimension, end * dimension);
        for (let p = 0; p < plan.length; p++) plan[p]!.write(cols[p]!, x, start, end, dimension);
      }
      return x;
    },
  };
}

/** One-shot encode (compiles the fitted features each call; reuse an encoder on hot paths). */
export function encodeFeatures(fitted: FittedFeatures, batch: FeatureBatch, out?: Float32Array): Float32Array {
  return createFeatureEncoder(fitted).encode(batch, out);
}
