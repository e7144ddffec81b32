// `flywheel runs …`: the experiment-tracking record of training runs (lib/tracking) — list them,
// show one (params, per-epoch metrics, system, artifacts, evaluation), compare several side by
// side. Reads Flywheel's configured database (PGlite in FLYWHEEL_DATA_DIR, or DATABASE_URL).
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase, type Queryable } from '../../lib/db/index.ts';
import { getRuns, listRuns, type TrainingRunRecord } from '../../lib/tracking/index.ts';
import { CliError, grid, printJson, say, table } from '../output.ts';

async function withDb<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
  const config = loadConfig('cli');
  const { db } = await openDatabase(config.database);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** The metric a list shows first, per task: binary rocAuc, multiclass accuracy, regression rmse. */
const HEADLINE = ['rocAuc', 'accuracy', 'rmse', 'macroF1', 'r2'] as const;

function fmtNumber(v: number | undefined): string {
  if (v === undefined) return '-';
  return Number.isInteger(v) ? String(v) : v.toPrecision(6).replace(/\.?0+$/, '');
}

function fmtValue(v: unknown): string {
  if (v === undefined) return '-';
  if (typeof v === 'number') return fmtNumber(v);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function headline(run: TrainingRunRecord): string {
  const key = HEADLINE.find((k) => run.metrics[k] !== undefined);
  return key ? `${key}=${fmtNumber(run.metrics[key])}` : '-';
}

/** Nested params as dotted keys, so two runs line up key by key. */
export function flatParams(params: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0)
      Object.assign(out, flatParams(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}

export function formatRunList(runs: readonly TrainingRunRecord[]): string {
  if (runs.length === 0) return 'No training runs recorded yet.';
  return grid(
    ['RUN', 'MODEL', 'STATUS', 'VERSION', 'DATASET', 'TRAINER', 'METRIC', 'EPOCHS', 'RECORDED'],
    runs.map((r) => [
      r.runId,
      r.model,
      r.status,
      r.version === null ? '-' : `v${r.version}`,
      r.datasetVersion,
      r.trainer,
      headline(r),
      String(r.epochs.length),
      r.recordedAt,
    ]),
  );
}

export function formatRun(run: TrainingRunRecord): string {
  const out: string[] = [
    table([
      ['Run', run.runId],
      ['Model', run.model],
      ['Status', run.status],
      ['Summary', run.summary || '-'],
      ['Version', run.version === null ? '-' : `v${run.version}`],
      ['Dataset version', run.datasetVersion],
      ['Trainer', run.trainer],
      ['MLflow run', run.mlflowRunId ?? '-'],
      ['Started', run.startedAt ?? '-'],
      ['Recorded', run.recordedAt],
    ]),
  ];
  const section = (title: string, rows: Array<[string, string]>) => {
    out.push('', `${title}:`, rows.length ? table(rows) : '  (none)');
  };
  section(
    'Parameters',
    Object.entries(flatParams(run.params)).map(([k, v]) => [k, fmtValue(v)]),
  );
  section(
    'Metrics',
    Object.entries(run.metrics).map(([k, v]) => [k, fmtNumber(v)]),
  );
  const keys = [...new Set(run.epochs.flatMap((e) => Object.keys(e.metrics)))];
  out.push('', 'Epochs:');
  out.push(
    run.epochs.length
      ? grid(
          ['EPOCH', ...keys],
          run.epochs.map((e) => [String(e.epoch), ...keys.map((k) => fmtNumber(e.metrics[k]))]),
        )
      : '  (none reported)',
  );
  const s = run.system;
  section(
    'System',
    s
      ? [
          ['Worker', s.identity],
          ['Host', s.hostname],
          ['Platform', `${s.platform}/${s.arch}, Node ${s.node}`],
          ['CPUs', `${s.cpus} × ${s.cpuModel}`],
          ['Memory', `${s.memoryMb} MiB`],
          ['Backend', s.backend],
          ['GPUs', s.gpus?.join(', ') ?? '-'],
        ]
      : [],
  );
  section(
    'Artifacts',
    Object.entries(run.artifacts).map(([k, v]) => [k, v]),
  );
  return out.join('\n');
}

/** Side by side: one column per run, a `*` before every row whose values differ. */
export function formatCompare(runs: readonly TrainingRunRecord[]): string {
  const header = ['', 'FIELD', ...runs.map((r) => r.runId)];
  const rows: string[][] = [];
  const add = (field: string, values: string[]) => rows.push([new Set(values).size > 1 ? '*' : '', field, ...values]);
  add(
    'model',
    runs.map((r) => r.model),
  );
  add(
    'status',
    runs.map((r) => r.status),
  );
  add(
    'version',
    runs.map((r) => (r.version === null ? '-' : `v${r.version}`)),
  );
  add(
    'dataset',
    runs.map((r) => r.datasetVersion),
  );
  add(
    'trainer',
    runs.map((r) => r.trainer),
  );
  add(
    'epochs',
    runs.map((r) => String(r.epochs.length)),
  );
  add(
    'backend',
    runs.map((r) => r.system?.backend ?? '-'),
  );
  const params = runs.map((r) => flatParams(r.params));
  for (const key of [...new Set(params.flatMap((p) => Object.keys(p)))].sort())
    add(
      `param ${key}`,
      params.map((p) => fmtValue(p[key])),
    );
  for (const key of [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort())
    add(
      `metric ${key}`,
      runs.map((r) => fmtNumber(r.metrics[key])),
    );
  return grid(header, rows);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new CliError(`--limit must be an integer from 1 to 1000, got ${JSON.stringify(value)}`);
  return n;
}

async function findRuns(db: Queryable, ids: readonly string[]): Promise<TrainingRunRecord[]> {
  const runs = await getRuns(db, ids);
  const missing = ids.filter((id) => !runs.some((r) => r.runId === id));
  if (missing.length)
    throw new CliError(`no training run recorded with id ${missing.map((m) => JSON.stringify(m)).join(', ')} (see \`flywheel runs list\`)`);
  return runs;
}

export function registerRunsCommands(program: Command): void {
  const runs = program
    .command('runs')
    .description('experiment tracking: training runs with params, per-epoch metrics, system and artifacts');

  runs
    .command('list')
    .description('recorded training runs, newest first')
    .option('--model <name>', 'only this model')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .option('--json', 'print JSON instead of a table')
    .action((opts: { model?: string; limit: string; json?: boolean }) => {
      const limit = positiveInt(opts.limit);
      return withDb(async (db) => {
        const list = await listRuns(db, { ...(opts.model ? { model: opts.model } : {}), limit });
        if (opts.json) return printJson(list);
        say(formatRunList(list));
      });
    });

  runs
    .command('show')
    .argument('<runId>', "the run id (`flywheel runs list`; the registry calls it a version's runId)")
    .description('one run: params, metrics, epochs, system, artifacts, version and MLflow run')
    .option('--json', 'print JSON instead of tables')
    .action((runId: string, opts: { json?: boolean }) =>
      withDb(async (db) => {
        const [run] = await findRuns(db, [runId]);
        if (opts.json) return printJson(run);
        say(formatRun(run!));
      }),
    );

  runs
    .command('compare')
    .argument('<runIds...>', 'two or more run ids')
    .description('runs side by side: params and metrics, differing rows marked with *')
    .option('--json', 'print JSON (the runs and the keys that differ)')
    .action((ids: string[], opts: { json?: boolean }) => {
      if (ids.length < 2) throw new CliError('compare needs at least two run ids');
      return withDb(async (db) => {
        const list = await findRuns(db, ids);
        if (opts.json) {
          const params = list.map((r) => flatParams(r.params));
          const differ = (values: unknown[]) => new Set(values.map((v) => JSON.stringify(v))).size > 1;
          return printJson({
            runs: list,
            differences: {
              params: [...new Set(params.flatMap((p) => Object.keys(p)))].filter((k) => differ(params.map((p) => p[k]))).sort(),
              metrics: [...new Set(list.flatMap((r) => Object.keys(r.metrics)))]
                .filter((k) => differ(list.map((r) => r.metrics[k])))
                .sort(),
            },
          });
        }
        say(formatCompare(list));
      });
    });
}
