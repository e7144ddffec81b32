// The registry on an MLflow tracking server (REST API 2.0, aliases — not the deprecated stages).
// Versions point at model files in the artifact store (`source: s3://…`); lineage, metrics and
// the run id ride along as version tags. What MLflow has no concept of — alias history and
// approvals — lives in Flywheel's database, as for the built-in registry.
import type { Database } from '../db/index.ts';
import * as audit from './audit.ts';
import { AliasNotFoundError, MlflowError, ModelNotFoundError, RegistryConflictError, VersionNotFoundError } from './errors.ts';
import { MlflowClient, type MlflowClientOptions } from './mlflow-client.ts';
import { MLFLOW_RUN_TAG } from './tags.ts';
import type {
  Actor,
  AliasMove,
  ApprovalRecord,
  CreateVersionInput,
  Lineage,
  ModelRegistry,
  ModelVersion,
  RegisteredModel,
} from './types.ts';

const TAG = {
  runId: 'flywheel.run_id',
  lineage: 'flywheel.lineage',
  metrics: 'flywheel.metrics',
  gateReport: 'flywheel.gate_report_uri',
} as const;
const INTERNAL_TAGS = new Set<string>(Object.values(TAG));

interface MlflowVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  source: string;
  description?: string;
  tags?: Array<{ key: string; value: string }>;
  aliases?: string[];
}

interface MlflowModel {
  name: string;
  creation_timestamp: number;
  description?: string;
  aliases?: Array<{ alias: string; version: string }>;
  /** The newest version per stage. Flywheel uses aliases, never stages, so every version is in
   * stage None and this holds the newest version. */
  latest_versions?: Array<{ version: string }>;
}

function isNotFound(err: unknown): boolean {
  return err instanceof MlflowError && (err.errorCode === 'RESOURCE_DOES_NOT_EXIST' || err.status === 404);
}

/** MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE "…alias X not found". */
function isAliasNotFound(err: unknown): boolean {
  return (
    isNotFound(err) ||
    (err instanceof MlflowError && err.errorCode === 'INVALID_PARAMETER_VALUE' && /alias .* not found/i.test(err.message))
  );
}

function toVersion(v: MlflowVersion): ModelVersion {
  const tags = Object.fromEntries((v.tags ?? []).map((t) => [t.key, t.value]));
  const userTags = Object.fromEntries(Object.entries(tags).filter(([k]) => !INTERNAL_TAGS.has(k)));
  return {
    model: v.name,
    version: Number(v.version),
    runId: tags[TAG.runId] ?? '',
    artifactUri: v.source,
    lineage: JSON.parse(tags[TAG.lineage] ?? '{}') as Lineage,
    metrics: JSON.parse(tags[TAG.metrics] ?? '{}') as Record<string, number>,
    ...(tags[TAG.gateReport] ? { gateReportUri: tags[TAG.gateReport] } : {}),
    tags: userTags,
    description: v.description ?? '',
    createdAt: new Date(v.creation_timestamp).toISOString(),
    aliases: [...(v.aliases ?? [])].sort(),
  };
}

export interface MlflowRegistryOptions extends MlflowClientOptions {
  /** Flywheel's database, for alias history, approvals and registration locks. */
  db: Database;
}

export class MlflowRegistry implements ModelRegistry {
  readonly kind = 'mlflow' as const;
  readonly #client: MlflowClient;
  readonly #db: Database;

  constructor(options: MlflowRegistryOptions) {
    this.#client = new MlflowClient(options);
    this.#db = options.db;
  }

  /** The REST client (auth included), for mirroring training runs as MLflow runs (lib/tracking). */
  get client(): MlflowClient {
    return this.#client;
  }

  async createModel(name: string, description = ''): Promise<RegisteredModel> {
    try {
      await this.#client.call('POST', 'registered-models/create', { name, description });
    } catch (err) {
      if (!(err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
    }
    return this.getModel(name);
  }

  async getModel(name: string): Promise<RegisteredModel> {
    let model: MlflowModel;
    try {
      model = (await this.#client.call<{ registered_model: MlflowModel }>('GET', 'registered-models/get', { name })).registered_model;
    } catch (err) {
      if (isNotFound(err)) throw new ModelNotFoundError(name);
      throw err;
    }
    const versions = await this.#allVersions(name);
    return {
      name: model.name,
      description: model.description ?? '',
      createdAt: new Date(model.creation_timestamp).toISOString(),
      latestVersion: versions.length ? Math.max(...versions.map((v) => Number(v.version))) : null,
      aliases: Object.fromEntries((model.aliases ?? []).map((a) => [a.alias, Number(a.version)]).sort()),
    };
  }

  async listModels(): Promise<RegisteredModel[]> {
    const models: MlflowModel[] = [];
    let token: string | undefined;
    do {
      const page = await this.#client.call<{ registered_models?: MlflowModel[]; next_page_token?: string }>(
        'GET',
        'registered-models/search',
        {
          max_results: 1000,
          ...(token ? { page_token: token } : {}),
        },
      );
      models.push(...(page.registered_models ?? []));
      token = page.next_page_token;
    } while (token);
    // The search answers with each model's aliases and newest version: one call for the list, not
    // one more per model (the console's models page lists every model on each load).
    return models
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((m) => {
        const latest = (m.latest_versions ?? []).map((v) => Number(v.version)).filter(Number.isFinite);
        return {
          name: m.name,
          description: m.description ?? '',
          createdAt: new Date(m.creation_timestamp).toISOString(),
          latestVersion: latest.length ? Math.max(...latest) : null,
          aliases: Object.fromEntries((m.aliases ?? []).map((a) => [a.alias, Number(a.version)]).sort()),
        };
      });
  }

  async #allVersions(model: string): Promise<MlflowVersion[]> {
    const out: MlflowVersion[] = [];
    let token: string | undefined;
    do {
      const page = await this.#client.call<{ model_versions?: MlflowVersion[]; next_page_token?: string }>('GET', 'model-versions/search', {
        filter: `name='${model.replaceAll("'", "\\'")}'`,
        max_results: 10_000,
        ...(token ? { page_token: token } : {}),
      });
      out.push(...(page.model_versions ?? []));
      token = page.next_page_token;
    } while (token);
    return out;
  }

  async createVersion(input: CreateVersionInput): Promise<ModelVersion> {
    await this.createModel(input.model);
    // MLflow has no unique key for "this training run": a lock in Flywheel's database makes
    // look-up-then-create atomic across workers.
    const version = await this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mlflow-register:${input.model}`]);
      const existing = (await this.#allVersions(input.model)).find((v) =>
        v.tags?.some((t) => t.key === TAG.runId && t.value === input.runId),
      );
      if (existing) return Number(existing.version);
      const tags = [
        { key: TAG.runId, value: input.runId },
        { key: TAG.lineage, value: JSON.stringify(input.lineage) },
        { key: TAG.metrics, value: JSON.stringify(input.metrics ?? {}) },
        ...(input.gateReportUri ? [{ key: TAG.gateReport, value: input.gateReportUri }] : []),
        ...Object.entries(input.tags ?? {}).map(([key, value]) => ({ key, value })),
      ];
      // The training run's MLflow mirror (lib/tracking), when there is one: MLflow's UI then links
      // the version to its run.
      const mlflowRunId = input.tags?.[MLFLOW_RUN_TAG];
      const created = await this.#client.call<{ model_version: MlflowVersion }>('POST', 'model-versions/create', {
        name: input.model,
        source: input.artifactUri,
        ...(mlflowRunId ? { run_id: mlflowRunId } : {}),
        tags,
        description: input.description ?? '',
      });
      return Number(created.model_version.version);
    });
    return this.getVersion(input.model, version);
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    try {
      return toVersion(
        (await this.#client.call<{ model_version: MlflowVersion }>('GET', 'model-versions/get', { name: model, version: String(version) }))
          .model_version,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.getModel(model);
      throw new VersionNotFoundError(model, version);
    }
  }

  async searchVersions(model: string, filter: { tags?: Record<string, string> } = {}): Promise<ModelVersion[]> {
    await this.getModel(model);
    const wanted = Object.entries(filter.tags ?? {});
    // Search results may omit aliases; the version itself carries them.
    const versions = await Promise.all((await this.#allVersions(model)).map((v) => this.getVersion(model, Number(v.version))));
    return versions.filter((v) => wanted.every(([k, val]) => v.tags[k] === val)).sort((a, b) => b.version - a.version);
  }

  async setVersionTag(model: string, version: number, key: string, value: string): Promise<void> {
    await this.getVersion(model, version);
    await this.#client.call('POST', 'model-versions/set-tag', { name: model, version: String(version), key, value });
  }

  async #aliasTarget(model: string, alias: string): Promise<number | null> {
    try {
      const res = await this.#client.call<{ model_version: MlflowVersion }>('GET', 'registered-models/alias', { name: model, alias });
      return Number(res.model_version.version);
    } catch (err) {
      if (isAliasNotFound(err)) return null;
      throw err;
    }
  }

  async setAlias(model: string, alias: string, version: number, by: Actor): Promise<AliasMove> {
    await this.getVersion(model, version);
    return this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mlflow-alias:${model}:${alias}`]);
      const from = await this.#aliasTarget(model, alias);
      await this.#client.call('POST', 'registered-models/alias', { name: model, alias, version: String(version) });
      return audit.recordAliasMove(tx, { model, alias, fromVersion: from, toVersion: version, ...by });
    });
  }

  async getAlias(model: string, alias: string): Promise<ModelVersion> {
    const target = await this.#aliasTarget(model, alias);
    if (target === null) {
      await this.getModel(model);
      throw new AliasNotFoundError(model, alias);
    }
    return this.getVersion(model, target);
  }

  async deleteAlias(model: string, alias: string, by: Actor): Promise<AliasMove> {
    return this.#db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mlflow-alias:${model}:${alias}`]);
      const from = await this.#aliasTarget(model, alias);
      if (from === null) throw new AliasNotFoundError(model, alias);
      await this.#client.call('DELETE', 'registered-models/alias', { name: model, alias });
      return audit.recordAliasMove(tx, { model, alias, fromVersion: from, toVersion: null, ...by });
    });
  }

  aliasHistory(model: string, alias?: string): Promise<AliasMove[]> {
    return audit.aliasHistory(this.#db, model, alias);
  }

  async rollback(model: string, by: Actor, alias = 'champion'): Promise<AliasMove> {
    const previous = await audit.previousTarget(this.#db, model, alias);
    if (previous === undefined || previous === null)
      throw new RegistryConflictError(`nothing to roll back: ${model}@${alias} has no previous version`);
    return this.setAlias(model, alias, previous, by);
  }

  recordApproval(record: Omit<ApprovalRecord, 'at'>): Promise<ApprovalRecord> {
    return audit.recordApproval(this.#db, record);
  }

  approvals(model: string, version?: number): Promise<ApprovalRecord[]> {
    return audit.approvals(this.#db, model, version);
  }
}
