// What the console's pages read, batched: one registry call for the models, ONE visibility list
// for every running lifecycle, ONE for recent cycles, ONE SQL query for the newest drift check of
// each listed model — never a Query per workflow per page load. Temporal being down degrades a page to
// registry data with a note; it never fails it.
import type { Client } from '@temporalio/client';
import type { Queryable } from '../lib/db/index.ts';
import { ALIASES, type ModelVersion, type RegisteredModel } from '../lib/registry/index.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import type { DriftCheckSummary } from '../lib/contracts/drift-monitor.ts';
import type { ConsoleContext } from './context.ts';

/** One workflow as visibility lists it. */
export interface WorkflowRow {
  workflowId: string;
  runId: string;
  type: string;
  /** RUNNING, COMPLETED, FAILED, … */
  status: string;
  /** FlywheelStage: where a cycle is or how it ended; a lifecycle's idle/running/awaiting-approval/… */
  stage?: string;
  model?: string;
  version?: number;
  startTime: Date;
  closeTime?: Date;
}

export interface WorkflowList {
  rows: WorkflowRow[];
  /** Why Temporal could not be listed (unreachable, timed out); the page shows it as a note. */
  error?: string;
}

/** How long a page waits for Temporal visibility before rendering without it. @default 3000 */
export const TEMPORAL_TIMEOUT_MS = 3_000;

/** Lists workflows by a visibility query, at most `limit` of them, within `timeoutMs`. */
export async function listWorkflows(temporal: Client, query: string, limit = 1000, timeoutMs = TEMPORAL_TIMEOUT_MS): Promise<WorkflowList> {
  const rows: WorkflowRow[] = [];
  let stop = false;
  const collect = (async () => {
    for await (const w of temporal.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      const stage = w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage);
      const model = w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model);
      const version = w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.version);
      rows.push({
        workflowId: w.workflowId,
        runId: w.runId,
        type: w.type,
        status: w.status.name,
        ...(stage !== undefined ? { stage } : {}),
        ...(model !== undefined ? { model } : {}),
        ...(version !== undefined ? { version } : {}),
        startTime: w.startTime,
        ...(w.closeTime ? { closeTime: w.closeTime } : {}),
      });
      if (stop || rows.length >= limit) break;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([collect.then(() => 'done' as const), timeout]);
    if (outcome === 'timeout') {
      stop = true;
      collect.catch(() => undefined);
      return { rows: [], error: `Temporal unreachable (no answer in ${timeoutMs} ms)` };
    }
    return { rows };
  } catch (err) {
    return { rows: [], error: `Temporal unreachable: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** A visibility string literal: backslashes and single quotes escaped with a backslash. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface DriftStatus {
  at: string;
  status: string;
  breach: boolean;
  summary: DriftCheckSummary;
}

/**
 * The newest drift-monitor check of each of these models, in one query: one index lookup per model
 * (`monitor_checks (model, at DESC)`), so the cost stays flat as months of checks pile up — not a
 * scan of every check of every model ever monitored.
 */
export async function latestChecks(db: Queryable, models: readonly string[]): Promise<Map<string, DriftStatus>> {
  if (models.length === 0) return new Map();
  const { rows } = await db.query<{ model: string; at: Date; status: string; breach: boolean; summary: DriftCheckSummary }>(
    `SELECT m.model, c.at, c.status, c.breach, c.summary FROM unnest($1::text[]) AS m(model)
     CROSS JOIN LATERAL (SELECT at, status, breach, summary FROM monitor_checks WHERE model = m.model ORDER BY at DESC LIMIT 1) c`,
    [models],
  );
  return new Map(rows.map((r) => [r.model, { at: r.at.toISOString(), status: r.status, breach: r.breach, summary: r.summary }]));
}

export interface ModelOverview {
  model: RegisteredModel;
  champion?: number;
  challenger?: number;
  /** The running lifecycle's FlywheelStage; undefined: no lifecycle runs (or Temporal is down). */
  lifecycle?: WorkflowRow;
  /** The newest cycle (running or closed). */
  lastCycle?: WorkflowRow;
  drift?: DriftStatus;
}

export interface ModelsOverview {
  models: ModelOverview[];
  temporalError?: string;
}

/** How many recent cycles the models list reads to find each model's newest one. */
const RECENT_CYCLES = 2000;

/** Up to this many models, the cycles list names them (`FlywheelModel IN (…)`), so other
 * workflows on a shared server are not read; beyond it, the newest cycles of any model. */
const NAMED_MODELS_MAX = 200;

export async function modelsOverview(ctx: ConsoleContext): Promise<ModelsOverview> {
  const modelsAndCycles = ctx.registry.listModels().then(async (models) => {
    const names = models.map((m) => m.name);
    const plain = names.every((n) => /^[\w.-]+$/.test(n));
    const only =
      plain && names.length > 0 && names.length <= NAMED_MODELS_MAX ? ` AND FlywheelModel IN (${names.map(quote).join(', ')})` : '';
    const [cycles, checks] = await Promise.all([
      names.length === 0 ? { rows: [] } : listWorkflows(ctx.temporal, `WorkflowType = 'modelCycle'${only}`, RECENT_CYCLES),
      latestChecks(ctx.db, names),
    ]);
    return [models, cycles, checks] as const;
  });
  const [[models, cycles, checks], lifecycles] = await Promise.all([
    modelsAndCycles,
    listWorkflows(ctx.temporal, `WorkflowType = 'modelLifecycle' AND ExecutionStatus = 'Running'`),
  ]);
  const lifecycleOf = new Map<string, WorkflowRow>();
  for (const w of lifecycles.rows) lifecycleOf.set(w.model ?? w.workflowId.replace(/^model\//, ''), w);
  const cycleOf = newestByModel(cycles.rows);
  const temporalError = lifecycles.error ?? ('error' in cycles ? cycles.error : undefined);
  return {
    models: models
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((model) => {
        const champion = model.aliases[ALIASES.champion];
        const challenger = model.aliases[ALIASES.challenger];
        const lifecycle = lifecycleOf.get(model.name);
        const lastCycle = cycleOf.get(model.name);
        const drift = checks.get(model.name);
        return {
          model,
          ...(champion !== undefined ? { champion } : {}),
          ...(challenger !== undefined ? { challenger } : {}),
          ...(lifecycle ? { lifecycle } : {}),
          ...(lastCycle ? { lastCycle } : {}),
          ...(drift ? { drift } : {}),
        };
      }),
    ...(temporalError ? { temporalError } : {}),
  };
}

/** What a cycle's stage means while it runs, as the models list says it. */
const RUNNING_STAGE_LABELS: Record<string, string> = {
  prepare: 'preparing data',
  train: 'training',
  evaluate: 'evaluating',
  register: 'registering',
  approval: 'awaiting-approval',
  rollout: 'rolling out',
  promote: 'promoting',
};

/** A lifecycle's state for people: its own stage, or, while a cycle runs, where that cycle is
 * (`training`, `rolling out`, …) — the lifecycle itself only says `running`. */
export function lifecycleState(lifecycle: WorkflowRow | undefined, lastCycle: WorkflowRow | undefined): string | undefined {
  if (!lifecycle) return undefined;
  const stage = lifecycle.stage ?? 'running';
  if (stage === 'running' && lastCycle?.status === 'RUNNING' && lastCycle.stage)
    return RUNNING_STAGE_LABELS[lastCycle.stage] ?? lastCycle.stage;
  return stage;
}

/** The newest workflow per model (by start time), models named by FlywheelModel or the id. */
export function newestByModel(rows: readonly WorkflowRow[]): Map<string, WorkflowRow> {
  const out = new Map<string, WorkflowRow>();
  for (const w of rows) {
    const model = w.model ?? /^[a-z]+\/([^/]+)/.exec(w.workflowId)?.[1];
    if (!model) continue;
    const seen = out.get(model);
    if (!seen || seen.startTime < w.startTime) out.set(model, w);
  }
  return out;
}

export type TaskKind = 'binary' | 'multiclass' | 'regression';

/** The metric columns a task's versions are compared by, and whether higher is better. */
export const TASK_METRICS: Record<TaskKind, ReadonlyArray<{ key: string; label: string; higherIsBetter: boolean }>> = {
  binary: [
    { key: 'rocAuc', label: 'ROC AUC', higherIsBetter: true },
    { key: 'prAuc', label: 'PR AUC', higherIsBetter: true },
    { key: 'logLoss', label: 'log loss', higherIsBetter: false },
    { key: 'f1', label: 'F1', higherIsBetter: true },
  ],
  multiclass: [
    { key: 'accuracy', label: 'accuracy', higherIsBetter: true },
    { key: 'macroF1', label: 'macro F1', higherIsBetter: true },
    { key: 'logLoss', label: 'log loss', higherIsBetter: false },
  ],
  regression: [
    { key: 'rmse', label: 'RMSE', higherIsBetter: false },
    { key: 'mae', label: 'MAE', higherIsBetter: false },
    { key: 'r2', label: 'R²', higherIsBetter: true },
  ],
};

/** A model's task, from a version's `task` tag, else the metric keys it was registered with. */
export function taskOf(versions: readonly Pick<ModelVersion, 'metrics' | 'tags'>[]): TaskKind {
  for (const v of versions) {
    const tag = v.tags.task;
    if (tag === 'binary' || tag === 'multiclass' || tag === 'regression') return tag;
  }
  for (const v of versions) {
    if ('rmse' in v.metrics || 'r2' in v.metrics) return 'regression';
    if ('macroF1' in v.metrics || 'accuracy' in v.metrics) return 'multiclass';
    if ('rocAuc' in v.metrics) return 'binary';
  }
  return 'binary';
}

/** Formats a metric for a table: 4 significant decimals, blanks for missing. */
export function fmtMetric(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toFixed(4);
}

/** A timestamp as people read it in a table (UTC, minutes). */
export function fmtTime(value: string | Date | undefined | null): string {
  if (!value) return '–';
  const d = typeof value === 'string' ? new Date(value) : value;
  return Number.isNaN(d.getTime()) ? String(value) : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
