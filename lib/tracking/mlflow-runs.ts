// Mirrors a tracked training run into MLflow, so MLflow's own UI and clients show it: one MLflow
// run per Flywheel run in the experiment `flywheel/<model>`, with params, per-epoch metrics (step =
// epoch), the evaluation's metrics, tags (run id, dataset version, trainer, system) and the
// evaluation's files uploaded through the server's artifact proxy. Idempotent: a retry finds the
// run by its `flywheel.runId` tag and logs the same values again (MLflow keeps equal params and
// metrics once).
import { MlflowError } from '../registry/errors.ts';
import type { MlflowClient } from '../registry/mlflow-client.ts';
import type { TrainingRunRecord } from './types.ts';

/** MLflow's limits (REST API log-batch): values are cut, batches split, keys kept short. */
export const MLFLOW_LIMITS = { paramValue: 6000, tagValue: 8000, key: 250, batch: 100 } as const;

export const RUN_TAGS = {
  runId: 'flywheel.runId',
  datasetVersion: 'flywheel.datasetVersion',
  trainer: 'flywheel.trainer',
  version: 'flywheel.version',
  model: 'flywheel.model',
  status: 'flywheel.status',
  summary: 'flywheel.summary',
} as const;

/** One file of the run to upload as an MLflow artifact. */
export interface RunArtifactFile {
  /** Path under the run's artifact root, e.g. `evaluation/gates.json`. */
  path: string;
  body: Uint8Array | string;
  contentType: string;
}

export interface MirroredRun {
  mlflowRunId: string;
  experimentId: string;
  /** False when the server does not proxy artifacts (no `mlflow-artifacts:` root): only tags name them. */
  artifactsUploaded: boolean;
}

interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  artifact_uri?: string;
}

type Param = { key: string; value: string };
type Metric = { key: string; value: number; timestamp: number; step: number };

export function experimentName(model: string): string {
  return `flywheel/${model}`;
}

/**
 * A key MLflow accepts: its names allow letters, digits, `_ - . /` and spaces, no `..` and no
 * leading `/`. Parameter names come from a user's spec or a command trainer's output, so anything
 * else is replaced with `_` — a refused key would fail the whole batch, and with it the run.
 */
export function mlflowKey(key: string): string {
  const safe = key
    .replace(/[^\w\-. /]/g, '_')
    .replace(/\.{2,}/g, '_')
    .replace(/^\/+/, '');
  return cut(safe || '_', MLFLOW_LIMITS.key);
}

/** One entry per key (the first): MLflow refuses a batch that names a key twice. */
function uniqueKeys<T extends { key: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.key) && Boolean(seen.add(i.key)));
}

function cut(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** Nested params flattened to dotted keys (`compression.distill.temperature`), values as strings. */
export function flattenParams(params: Record<string, unknown>, prefix = ''): Param[] {
  const out: Param[] = [];
  for (const [k, v] of Object.entries(params)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      out.push(...flattenParams(v as Record<string, unknown>, key));
    } else if (v !== undefined) {
      out.push({ key: mlflowKey(key), value: cut(typeof v === 'string' ? v : JSON.stringify(v), MLFLOW_LIMITS.paramValue) });
    }
  }
  return out;
}

/** Every number of the run as MLflow metrics: epochs at step = epoch, evaluation at step 0. */
export function runMetrics(run: TrainingRunRecord, timestamp: number): Metric[] {
  const out: Metric[] = [];
  for (const e of run.epochs)
    for (const [key, value] of Object.entries(e.metrics))
      if (Number.isFinite(value)) out.push({ key: mlflowKey(key), value, timestamp, step: e.epoch });
  for (const [key, value] of Object.entries(run.metrics))
    if (Number.isFinite(value)) out.push({ key: mlflowKey(key), value, timestamp, step: 0 });
  return out;
}

export function runTags(run: TrainingRunRecord): Param[] {
  const tags: Record<string, string | undefined> = {
    [RUN_TAGS.runId]: run.runId,
    [RUN_TAGS.model]: run.model,
    [RUN_TAGS.datasetVersion]: run.datasetVersion,
    [RUN_TAGS.trainer]: run.trainer,
    [RUN_TAGS.status]: run.status,
    [RUN_TAGS.summary]: run.summary,
    'mlflow.runName': run.runId,
    ...(run.version !== null ? { [RUN_TAGS.version]: String(run.version) } : {}),
    ...Object.fromEntries(Object.entries(run.artifacts).map(([name, uri]) => [mlflowKey(`flywheel.artifact.${name}`), uri])),
  };
  if (run.system) {
    const { gpus, ...rest } = run.system;
    for (const [k, v] of Object.entries(rest)) tags[`flywheel.system.${k}`] = String(v);
    if (gpus?.length) tags['flywheel.system.gpus'] = gpus.join(', ');
  }
  return Object.entries(tags)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([key, value]) => ({ key, value: cut(value, MLFLOW_LIMITS.tagValue) }));
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** `mlflow-artifacts:/1/abc/artifacts` → `1/abc/artifacts`; null for any other root (not proxied). */
export function proxiedArtifactPath(artifactUri: string | undefined): string | null {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/+(.*)$/.exec(artifactUri ?? '');
  return m ? m[1]!.replace(/\/+$/, '') : null;
}

export class MlflowRunMirror {
  readonly #client: MlflowClient;

  constructor(client: MlflowClient) {
    this.#client = client;
  }

  /** The experiment `flywheel/<model>`, created when missing (a concurrent create is fine). */
  async experimentId(model: string): Promise<string> {
    const name = experimentName(model);
    try {
      const found = await this.#client.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', {
        experiment_name: name,
      });
      return found.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.status === 404))) throw err;
    }
    try {
      const created = await this.#client.call<{ experiment_id: string }>('POST', 'experiments/create', {
        name,
        tags: [{ key: RUN_TAGS.model, value: model }],
      });
      return created.experiment_id;
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') return this.experimentId(model);
      throw err;
    }
  }

  /** The MLflow run of this Flywheel run, if one was created already (an earlier attempt). */
  async findRun(experimentId: string, runId: string): Promise<MlflowRunInfo | null> {
    const res = await this.#client.call<{ runs?: Array<{ info: MlflowRunInfo }> }>('POST', 'runs/search', {
      experiment_ids: [experimentId],
      filter: `tags.\`${RUN_TAGS.runId}\` = '${runId.replaceAll("'", "\\'")}'`,
      run_view_type: 'ALL',
      max_results: 1,
    });
    return res.runs?.[0]?.info ?? null;
  }

  /** Creates (or finds) the MLflow run and logs everything; ends it FINISHED (passed) or FAILED. */
  async mirror(run: TrainingRunRecord, files: readonly RunArtifactFile[] = []): Promise<MirroredRun> {
    const experimentId = await this.experimentId(run.model);
    const startTime = run.startedAt ? Date.parse(run.startedAt) : Date.parse(run.recordedAt);
    const info =
      (await this.findRun(experimentId, run.runId)) ??
      (
        await this.#client.call<{ run: { info: MlflowRunInfo } }>('POST', 'runs/create', {
          experiment_id: experimentId,
          run_name: run.runId,
          start_time: startTime,
          tags: [{ key: RUN_TAGS.runId, value: run.runId }],
        })
      ).run.info;
    const runUuid = info.run_id;
    const params = uniqueKeys(flattenParams(run.params));
    for (const batch of chunks(params, MLFLOW_LIMITS.batch))
      await this.#client.call('POST', 'runs/log-batch', { run_id: runUuid, params: batch });
    for (const batch of chunks(runMetrics(run, startTime), MLFLOW_LIMITS.batch))
      await this.#client.call('POST', 'runs/log-batch', { run_id: runUuid, metrics: batch });
    for (const batch of chunks(runTags(run), MLFLOW_LIMITS.batch))
      await this.#client.call('POST', 'runs/log-batch', { run_id: runUuid, tags: batch });
    const root = proxiedArtifactPath(info.artifact_uri);
    if (root !== null) {
      for (const f of files) await this.#client.putArtifact(`${root}/${f.path}`, f.body, f.contentType);
    }
    await this.#client.call('POST', 'runs/update', {
      run_id: runUuid,
      status: run.status === 'passed' ? 'FINISHED' : 'FAILED',
      end_time: Date.parse(run.recordedAt),
    });
    return { mlflowRunId: runUuid, experimentId, artifactsUploaded: root !== null };
  }

  /** Marks the MLflow run with the registry version it became. */
  async linkVersion(mlflowRunId: string, version: number): Promise<void> {
    await this.#client.call('POST', 'runs/set-tag', { run_id: mlflowRunId, key: RUN_TAGS.version, value: String(version) });
  }
}
