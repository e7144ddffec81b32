// Proposes a feature spec (docs/features.md) from a table's summary: numbers imputed and
// standardised, low-cardinality text as a fitted vocabulary, high-cardinality text hashed,
// booleans as is, the time column as calendar parts; never the label, and no ID-like or constant
// column. Each entry carries the reason for it, and each column left out says why.
import type { FeatureSpecInput } from '../features/tabular/spec.ts';
import type { ColumnSummary, TableSummary } from './inspect.ts';
import { comment, flow, short, type FlowValue } from './yaml-text.ts';

/** Text columns with more distinct values than this are hashed rather than given a vocabulary. */
export const MAX_VOCABULARY = 1000;
/** Hash buckets of a high-cardinality text column. */
export const HASH_BUCKETS = 512;
/** A column with as many distinct values as rows is an ID only from this many rows on (a tiny
 * table has all-distinct measurements by chance). */
export const ID_MIN_ROWS = 20;
/** Skewness above which a non-negative number is log1p-transformed before scaling. */
export const LOG_SKEWNESS = 2;

export interface ProposedFeature {
  entry: FeatureSpecInput['features'][number];
  column: string;
  why: string;
}

export interface LeftOutColumn {
  column: string;
  why: string;
}

export interface FeatureProposal {
  features: ProposedFeature[];
  leftOut: LeftOutColumn[];
}

export interface ProposeFeaturesOptions {
  label: string;
  time?: string;
}

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** A feature name for a column: the column when it is a valid name, else a cleaned copy. */
function nameFor(column: string, taken: Set<string>): string {
  let base = column.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120);
  if (!/^[A-Za-z_]/.test(base)) base = `_${base}`;
  if (!NAME_PATTERN.test(base)) base = 'feature';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

function withColumn(name: string, column: string): { name: string; column?: string } {
  return name === column ? { name } : { name, column };
}

function idLike(c: ColumnSummary, rows: number): boolean {
  return rows >= ID_MIN_ROWS && c.nulls === 0 && c.distinct === rows && (c.kind === 'integer' || c.kind === 'string');
}

/** Values seen fewer times than this fall into the unseen bucket: more data, a higher bar. */
function minCountFor(rows: number): number {
  return rows >= 100_000 ? 20 : rows >= 10_000 ? 5 : 1;
}

function numeric(c: ColumnSummary, name: string): ProposedFeature {
  const log = c.min !== null && (c.min as number) >= 0 && (c.skewness ?? 0) > LOG_SKEWNESS;
  const range = `${short(c.min as number)} to ${short(c.max as number)}`;
  const impute = c.nulls > 0 ? 'median' : 'mean';
  const why = [
    `a number (${range}, mean ${short(c.mean ?? 0)})`,
    c.nulls > 0 ? `${c.nulls} missing → the training median` : 'no missing values seen (any later take the training mean)',
    log ? `skewed (skewness ${short(c.skewness!)}) and never negative → log1p, then standardised` : 'standardised',
  ].join('; ');
  return {
    column: c.name,
    why,
    entry: { ...withColumn(name, c.name), kind: 'numeric', impute, ...(log ? { log1p: true } : {}), scale: 'standard' },
  };
}

function categorical(c: ColumnSummary, name: string, rows: number): ProposedFeature {
  if (c.distinct > MAX_VOCABULARY)
    return {
      column: c.name,
      why: `text with ${c.distinct} distinct values (more than ${MAX_VOCABULARY}) → hashed into ${HASH_BUCKETS} buckets (collisions accepted; nothing to fit)`,
      entry: { ...withColumn(name, c.name), kind: 'categorical', hash: { buckets: HASH_BUCKETS } },
    };
  const minCount = minCountFor(rows);
  return {
    column: c.name,
    why: `text with ${c.distinct} distinct values → one-hot over a vocabulary fitted on training data${minCount > 1 ? ` (values seen at least ${minCount} times)` : ''}; unseen values share one bucket`,
    entry: { ...withColumn(name, c.name), kind: 'categorical', vocabulary: { minCount, maxSize: MAX_VOCABULARY } },
  };
}

function datetime(c: ColumnSummary, name: string): ProposedFeature {
  const parts = [...(c.hasTimeOfDay ? (['hour'] as const) : []), 'dayOfWeek' as const, 'month' as const];
  return {
    column: c.name,
    why: `the time column (${c.duckType}, ${c.min} to ${c.max}) → ${parts.join(', ')}, one-hot${c.hasTimeOfDay ? '' : ' (no hour: every value is at midnight)'}`,
    entry: { ...withColumn(name, c.name), kind: 'datetime', parts },
  };
}

/** The proposal for every column but the label. */
export function proposeFeatures(summary: TableSummary, options: ProposeFeaturesOptions): FeatureProposal {
  const taken = new Set<string>();
  const features: ProposedFeature[] = [];
  const leftOut: LeftOutColumn[] = [];
  for (const c of summary.columns) {
    if (c.name === options.label) continue;
    const out = (why: string) => leftOut.push({ column: c.name, why });
    if (c.name === options.time) {
      features.push(datetime(c, nameFor(c.name, taken)));
    } else if (c.kind === 'other') out(`${c.duckType} has no feature kind here (write a vector feature by hand for a fixed-length list)`);
    else if (c.distinct === 0) out('every value is missing');
    else if (c.distinct === 1 && c.nulls === 0) out('one value in every row: nothing to learn from');
    else if (idLike(c, summary.rows)) out(`every row has its own value (${c.distinct} distinct): an ID, which a model would memorise`);
    else if (c.kind === 'integer' || c.kind === 'float') features.push(numeric(c, nameFor(c.name, taken)));
    else if (c.kind === 'string') features.push(categorical(c, nameFor(c.name, taken), summary.rows));
    else if (c.kind === 'boolean')
      features.push({
        column: c.name,
        why: `true/false${c.nulls > 0 ? `; ${c.nulls} missing → false` : ''}`,
        entry: { ...withColumn(nameFor(c.name, taken), c.name), kind: 'boolean', impute: false },
      });
    else out(`a second date/time column (${c.duckType}): derive a feature from it by hand, e.g. a datetime feature`);
  }
  return { features, leftOut };
}

/** The feature spec as data (what the YAML text parses to). */
export function featureSpecOf(proposal: FeatureProposal): FeatureSpecInput {
  return { features: proposal.features.map((f) => f.entry) };
}

/** features.yaml: a header, then each feature with its reason above it, then the columns left out. */
export function renderFeatures(proposal: FeatureProposal, header: string): string {
  const lines = [...comment(header), 'features:'];
  for (const f of proposal.features) {
    lines.push(...comment(`${f.column}: ${f.why}`, '  '));
    const [first, ...rest] = Object.entries(f.entry as Record<string, FlowValue>);
    lines.push(`  - ${first![0]}: ${flow(first![1])}`);
    for (const [k, v] of rest) lines.push(`    ${k}: ${flow(v)}`);
  }
  if (proposal.leftOut.length > 0) {
    lines.push('', '# Left out:');
    for (const c of proposal.leftOut) lines.push(...comment(`  ${c.column}: ${c.why}`));
  }
  return `${lines.join('\n')}\n`;
}
