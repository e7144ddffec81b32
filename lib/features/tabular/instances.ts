// Request-style JSON instances (one object per row) into the encoder's columns. Every bad field is
// reported with its instance index and name, so a server can answer one 400 that lists them all
// rather than stopping at the first.
import { parseNaiveTimestampMs } from '../../time/naive-timestamp.ts';
import type { FeatureBatch, FeatureColumn } from './encode.ts';
import { inputKind, sourceColumn, type FeatureSpec, type InputKind } from './spec.ts';

export interface InstanceFieldError {
  /** Position of the instance in the request. */
  index: number;
  /** The field (source column) at fault. */
  field: string;
  message: string;
}

export type InstancesResult = { ok: true; batch: FeatureBatch } | { ok: false; errors: InstanceFieldError[] };

export interface InstancesOptions {
  /** Stop collecting after this many errors (a huge bad request cannot build a huge reply). @default 100 */
  maxErrors?: number;
}

/** The source columns a spec reads and what each must hold, in first-use order. */
export function inputColumns(spec: FeatureSpec): { column: string; kind: InputKind }[] {
  const seen = new Map<string, InputKind>();
  for (const def of spec.features) if (!seen.has(sourceColumn(def))) seen.set(sourceColumn(def), inputKind(def));
  return [...seen].map(([column, kind]) => ({ column, kind }));
}

type Parse = (value: unknown) => { value: unknown } | { error: string };

const NULL = { value: null };

type Parser = { make: (n: number) => unknown[] | Float64Array; parse: Parse };

// Built once per kind (and per vector length), not per request: a server reads instances on every
// predict, and fresh closures per call showed in its profile.
const PARSERS: Record<'number' | 'string' | 'boolean' | 'timestamp', Parser> = {
  number: {
    make: (n) => new Float64Array(n),
    parse: (v) =>
      v === null
        ? { value: NaN }
        : typeof v === 'number' && Number.isFinite(v)
          ? { value: v }
          : { error: 'must be a finite number or null' },
  },
  string: {
    make: (n) => new Array<unknown>(n),
    parse: (v) =>
      v === null
        ? NULL
        : typeof v === 'string'
          ? { value: v }
          : Number.isInteger(v)
            ? { value: String(v) }
            : { error: 'must be a string, an integer or null' },
  },
  boolean: {
    make: (n) => new Float64Array(n),
    parse: (v) =>
      v === null
        ? { value: NaN }
        : v === true || v === 1
          ? { value: 1 }
          : v === false || v === 0
            ? { value: 0 }
            : { error: 'must be true, false, 1, 0 or null' },
  },
  timestamp: {
    make: (n) => new Float64Array(n),
    parse: (v) => {
      if (v === null) return { value: NaN };
      const ms = typeof v === 'string' ? parseNaiveTimestampMs(v) : null;
      return ms === null ? { error: 'must be a naive timestamp like 2001-03-04T13:45:00 (no zone) or null' } : { value: ms };
    },
  },
};

function vectorParser(len: number): Parser {
  return {
    make: (n) => new Array<unknown>(n),
    parse: (v) =>
      v === null
        ? NULL
        : Array.isArray(v) && v.length === len && v.every((e) => e === null || (typeof e === 'number' && Number.isFinite(e)))
          ? { value: v }
          : { error: `must be an array of ${len} numbers (null for a missing one) or null` },
  };
}

function parserFor(kind: InputKind): Parser {
  return kind in PARSERS ? PARSERS[kind as keyof typeof PARSERS] : vectorParser(Number(/\d+/.exec(kind)?.[0]));
}

/** Each spec's columns with their parsers, built on first use (specs are immutable once fitted). */
const WANTED = new WeakMap<FeatureSpec, ({ column: string } & Parser)[]>();

function wantedColumns(spec: FeatureSpec): ({ column: string } & Parser)[] {
  let wanted = WANTED.get(spec);
  if (!wanted) {
    wanted = inputColumns(spec).map(({ column, kind }) => ({ column, ...parserFor(kind) }));
    WANTED.set(spec, wanted);
  }
  return wanted;
}

/** Builds the encoder's columns from JSON instances. Every field the spec reads is required (send
 * `null` for a missing value, which the spec then imputes); extra fields are ignored. */
export function batchFromInstances(spec: FeatureSpec, instances: readonly unknown[], options: InstancesOptions = {}): InstancesResult {
  const maxErrors = options.maxErrors ?? 100;
  const n = instances.length;
  const wanted = wantedColumns(spec);
  const columns: Record<string, FeatureColumn> = {};
  const errors: InstanceFieldError[] = [];
  for (const { column, make, parse } of wanted) {
    const out = make(n);
    for (let i = 0; i < n && errors.length < maxErrors; i++) {
      const instance = instances[i];
      if (instance === null || typeof instance !== 'object' || Array.isArray(instance)) {
        if (column === wanted[0]!.column) errors.push({ index: i, field: '(instance)', message: 'must be an object' });
        continue;
      }
      if (!Object.hasOwn(instance, column)) {
        errors.push({ index: i, field: column, message: 'is required (null for a missing value)' });
        continue;
      }
      const r = parse((instance as Record<string, unknown>)[column]);
      if ('error' in r) errors.push({ index: i, field: column, message: r.error });
      else out[i] = r.value as never;
    }
    columns[column] = out as FeatureColumn;
  }
  if (errors.length) return { ok: false, errors: errors.sort((a, b) => a.index - b.index) };
  return { ok: true, batch: { rows: n, columns } };
}
