// `flywheel init` as a library: read a CSV or Parquet source once, choose the task and the time
// column, propose features.yaml, validation.yaml and model.yaml, write them (checked with the
// project's own parsers) and say which commands come next.
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Duck } from '../data/duck.ts';
import { SourceNotFoundError } from '../data/errors.ts';
import { resolveSource } from '../data/resolve.ts';
import type { CsvOptionsInput, SourceFormat } from '../data/source-spec.ts';
import { parseSourceSpec } from '../data/source-spec.ts';
import type { SourceContext } from '../data/sources.ts';
import { loadModelSpec, type ModelSpec } from '../model-spec/model-spec.ts';
import { ArtifactNotFoundError } from '../storage/index.ts';
import type { TaskKind } from '../tasks/task.ts';
import { OnboardingError } from './errors.ts';
import { checkTask, findColumn, inferTask, inferTime, type Choice } from './infer.ts';
import { inspectTable, topValues, type ColumnSummary, type TableSummary } from './inspect.ts';
import { proposeFeatures, renderFeatures, type FeatureProposal } from './propose-features.ts';
import { renderModel, type LabelBaseline, type ModelProposalInput } from './propose-model.ts';
import { proposeValidation, renderValidation } from './propose-validation.ts';

export const INIT_FILES = ['model.yaml', 'features.yaml', 'validation.yaml'] as const;
export type InitFile = (typeof INIT_FILES)[number];

export interface InitOptions {
  /** A CSV or Parquet file (or glob, or prefix): a path, file:// or s3:// URI. */
  data: string;
  /** The label column. */
  label: string;
  /** @default inferred from the label column */
  task?: TaskKind;
  /** Registry model name. @default `<dataset>-<label>`, lower-cased */
  name?: string;
  /** The time column. @default detected: a DATE/TIMESTAMP column, by name first */
  time?: string;
  /** Where a relative `data` path is resolved. @default process.cwd() */
  cwd?: string;
  /** Where downloads go; the caller removes it. */
  tmpDir: string;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  signal?: AbortSignal;
}

export interface InitProposal {
  name: string;
  dataset: string;
  task: Choice<TaskKind>;
  time: Choice<string | undefined>;
  sourceUri: string;
  summary: TableSummary;
  features: FeatureProposal;
  /** The first month, `YYYY-MM`, when there is a time column. */
  firstPartition?: string;
  /** The first row as a predict request's instance (the model's input columns only). */
  exampleInstance: Record<string, string | number | boolean | null>;
  files: Record<InitFile, string>;
}

const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A file path becomes an absolute file:// URI, so the spec works from any working directory. */
export function sourceUriOf(data: string, cwd = process.cwd()): string {
  return /^(file|s3):\/\//.test(data) ? data : pathToFileURL(resolve(cwd, data)).toString();
}

/** Format and CSV options the file name calls for that the defaults would get wrong. */
export function sourceFormatOf(uri: string): { format?: SourceFormat; csv?: CsvOptionsInput } {
  const lower = uri.toLowerCase();
  if (lower.endsWith('.tsv') || lower.endsWith('.tsv.gz')) return { format: 'csv', csv: { delimiter: '\t' } };
  if (lower.endsWith('.txt')) return { format: 'csv' };
  return {};
}

/** The dataset name: the file name without its extensions (the last folder for a prefix or glob). */
export function datasetNameOf(uri: string): string {
  const segments = decodeURIComponent(uri.replace(/^[a-z0-9]+:\/\//, ''))
    .split('/')
    .filter((s) => s !== '' && !/[*?]/.test(s));
  const base = (segments.at(-1) ?? '').replace(/(\.(csv|tsv|txt|parquet|parq))?(\.gz)?$/i, '');
  const clean = base
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64);
  return clean || 'dataset';
}

/** `<dataset>-<label>` as a registry name (just the dataset when they are the same word). */
export function modelNameOf(dataset: string, label: string): string {
  const raw = dataset.toLowerCase() === label.toLowerCase() ? dataset : `${dataset}-${label}`;
  const clean = raw
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 63);
  return clean || 'model';
}

function baselineOf(
  task: TaskKind,
  label: ColumnSummary,
  rows: number,
  values: readonly { value: string; count: number }[],
): LabelBaseline {
  // values holds the most frequent few; shares are of every labelled row.
  const nonNull = Math.max(1, rows - label.nulls);
  if (task === 'binary') {
    const positive = values.find((v) => v.value.toLowerCase() === 'true' || Number(v.value) === 1)?.count ?? 0;
    return { task, positiveShare: positive / nonNull };
  }
  if (task === 'multiclass') {
    const top = values[0]!;
    return { task, classes: label.distinct, majorityClass: top.value, majorityShare: top.count / nonNull };
  }
  return { task, mean: label.mean ?? 0, std: label.std ?? 0 };
}

function instanceValue(c: ColumnSummary, text: string | null): string | number | boolean | null {
  if (text === null) return null;
  if (c.kind === 'integer' || c.kind === 'float') return Number(text);
  if (c.kind === 'boolean') return text === 'true';
  return text;
}

async function readSource(duck: Duck, ctx: SourceContext, uri: string, options: InitOptions) {
  const { format, csv } = sourceFormatOf(uri);
  if (uri.startsWith('file://') && !/[*?]/.test(uri) && !uri.endsWith('/')) {
    const path = new URL(uri);
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new OnboardingError(`no such file: ${decodeURIComponent(path.pathname)}`);
    if (!st.isFile())
      throw new OnboardingError(`${decodeURIComponent(path.pathname)} is a folder: end it with / to read every data file in it`);
  }
  const spec = parseSourceSpec({ uri, ...(format ? { format } : {}), ...(csv ? { csv } : {}) }, '--data');
  try {
    const resolved = await resolveSource(duck, ctx, spec, {
      tmpDir: options.tmpDir,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { sql: resolved.sql, format, csv, files: resolved.files.length };
  } catch (err) {
    if (err instanceof SourceNotFoundError || err instanceof ArtifactNotFoundError)
      throw new OnboardingError(err instanceof ArtifactNotFoundError ? `no such file: ${uri}` : err.message);
    throw err;
  }
}

/** Reads the data and proposes the three files; writes nothing. */
export async function proposeProject(duck: Duck, ctx: SourceContext, options: InitOptions): Promise<InitProposal> {
  const progress = options.progress ?? (() => {});
  const uri = sourceUriOf(options.data, options.cwd);
  progress(`Reading ${uri}`);
  const source = await readSource(duck, ctx, uri, options);
  let summary: TableSummary;
  try {
    summary = await inspectTable(duck, source.sql, options.signal);
  } catch (err) {
    const detail = (err instanceof Error ? err.message : String(err)).split('\n')[0];
    throw new OnboardingError(
      `cannot read ${uri} as ${source.format === 'csv' || uri.toLowerCase().includes('.csv') ? 'CSV' : 'Parquet'}: ${detail}`,
    );
  }
  progress(`  ${summary.rows} rows, ${summary.columns.length} columns${source.files > 1 ? ` from ${source.files} files` : ''}`);
  if (summary.rows === 0) throw new OnboardingError(`${uri} has no rows`);

  const label = findColumn(summary, options.label, 'label');
  const values = await topValues(duck, source.sql, label.name, 51, options.signal);
  if (label.distinct === 0) throw new OnboardingError(`label ${label.name} has no values: every row is null`);
  if (label.distinct === 1)
    throw new OnboardingError(`label ${label.name} has one value (${values[0]!.value}) in every row: there is nothing to predict`);
  const task = options.task
    ? checkTask(
        options.task,
        label,
        values.map((v) => v.value),
      )
    : inferTask(
        label,
        values.map((v) => v.value),
      );
  progress(`  task: ${task.value} — ${task.reason}`);
  const time = inferTime(summary, label.name, options.time);
  progress(`  time: ${time.value ?? 'none'} — ${time.reason}`);

  const features = proposeFeatures(summary, { label: label.name, ...(time.value ? { time: time.value } : {}) });
  if (features.features.length === 0)
    throw new OnboardingError(
      `no column besides the label can be a feature: ${features.leftOut.map((c) => `${c.column} (${c.why})`).join('; ')}`,
    );
  for (const f of features.features) progress(`  feature ${f.entry.name}: ${f.why}`);
  for (const c of features.leftOut) progress(`  left out ${c.column}: ${c.why}`);

  const dataset = datasetNameOf(uri);
  const name = options.name ?? modelNameOf(dataset, label.name);
  if (!MODEL_NAME.test(name))
    throw new OnboardingError(
      `--name ${JSON.stringify(name)}: lower-case letters, digits, . _ - (at most 63), starting with a letter or digit`,
    );

  const used = new Set([label.name, ...(time.value ? [time.value] : []), ...features.features.map((f) => f.column)]);
  const validation = proposeValidation(summary, { dataset, label: label.name, used });
  const timeColumn = time.value ? summary.columns.find((c) => c.name === time.value) : undefined;
  const firstPartition = timeColumn?.min ? String(timeColumn.min).slice(0, 7) : undefined;
  const modelInput: ModelProposalInput = {
    name,
    dataset,
    task: task.value,
    label: label.name,
    ...(time.value ? { time: time.value } : {}),
    source: { uri, ...(source.format ? { format: source.format } : {}), ...(source.csv ? { csv: source.csv } : {}) },
    rows: summary.rows,
    baseline: baselineOf(task.value, label, summary.rows, values),
    taskReason: task.reason,
    ...(firstPartition ? { firstPartition } : {}),
  };
  const exampleInstance: InitProposal['exampleInstance'] = {};
  for (const f of features.features) {
    const c = summary.columns.find((col) => col.name === f.column)!;
    exampleInstance[c.name] = instanceValue(c, summary.firstRow[c.name] ?? null);
  }
  const header = (what: string) =>
    `${what}\nProposed by \`flywheel init\` from ${dataset} (${summary.rows} rows): review each entry; the comments say why it is there.`;
  return {
    name,
    dataset,
    task,
    time,
    sourceUri: uri,
    summary,
    features,
    ...(firstPartition ? { firstPartition } : {}),
    exampleInstance,
    files: {
      'model.yaml': renderModel(
        modelInput,
        header(`The ${name} model (docs/model-spec.md). Start it with \`flywheel pipeline start model.yaml\`.`),
      ),
      'features.yaml': renderFeatures(
        features,
        header(`Features of ${name} (docs/features.md), named by \`features: ./features.yaml\` in model.yaml.`),
      ),
      'validation.yaml': renderValidation(
        validation,
        header(`Validation rules of ${dataset} (README "Data validation"); hard rules stop the pipeline.`),
      ),
    },
  };
}

/** Writes the three files into `outDir` (refusing to replace any without `force`) and reads the
 * model spec back with loadModelSpec, so what was written is what the pipeline accepts. */
export async function writeProposal(proposal: InitProposal, outDir: string, force = false): Promise<{ paths: string[]; spec: ModelSpec }> {
  const paths = INIT_FILES.map((f) => join(outDir, f));
  if (!force) {
    const existing = [];
    for (const p of paths) if (await stat(p).catch(() => undefined)) existing.push(p);
    if (existing.length > 0)
      throw new OnboardingError(
        `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}: pass --force to replace, or --out <dir>`,
      );
  }
  await mkdir(outDir, { recursive: true });
  for (const f of INIT_FILES) await writeFile(join(outDir, f), proposal.files[f]);
  return { paths, spec: await loadModelSpec(join(outDir, 'model.yaml')) };
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** A path as the user would type it: relative to the working directory when inside it. */
function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') || rel.startsWith(sep) ? path : rel;
}

/** The ≤ 5 commands from these files to a served, monitored model. */
export function nextCommands(proposal: InitProposal, outDir: string, cwd = process.cwd()): string[] {
  const spec = shellQuote(displayPath(join(outDir, 'model.yaml'), cwd));
  const body = JSON.stringify({ instances: [proposal.exampleInstance] });
  return [
    'npx flywheel dev --serve         # another terminal: Temporal, workers, the inference server; export the API key it prints as FLYWHEEL_API_KEY',
    `npx flywheel pipeline start ${spec}`,
    proposal.firstPartition
      ? `npx flywheel data arrive --all --spec ${spec}`
      : `npx flywheel data arrive <partition> --spec ${spec}   # no time column: add data.partition to the spec first`,
    `npx flywheel pipeline status ${proposal.name} --follow`,
    `curl -s -H "Authorization: Bearer $FLYWHEEL_API_KEY" -H 'content-type: application/json' -d ${shellQuote(body)} http://127.0.0.1:8080/v1/models/${proposal.name}/predict`,
  ];
}
