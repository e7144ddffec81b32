// The built-in registry: SQL on PostgreSQL or PGlite (Flywheel's own database).
import type { Database, Queryable } from '../db/index.ts';
import * as audit from './audit.ts';
import { AliasNotFoundError, ModelNotFoundError, RegistryConflictError, VersionNotFoundError } from './errors.ts';
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

type VersionRow = {
  model: string;
  version: number;
  run_id: string;
  artifact_uri: string;
  lineage: Lineage;
  metrics: Record<string, number>;
  gate_report_uri: string | null;
  tags: Record<string, string>;
  description: string;
  created_at: Date;
  aliases: string[] | null;
};

const VERSION_SELECT = `SELECT v.*, (SELECT array_agg(a.alias ORDER BY a.alias) FROM model_aliases a WHERE a.model = v.model AND a.version = v.version) AS aliases
  FROM model_versions v`;

function toVersion(r: VersionRow): ModelVersion {
  return {
    model: r.model,
    version: r.version,
    runId: r.run_id,
    artifactUri: r.artifact_uri,
    lineage: r.lineage,
    metrics: r.metrics,
    ...(r.gate_report_uri ? { gateReportUri: r.gate_report_uri } : {}),
    tags: r.tags,
    description: r.description,
    createdAt: r.created_at.toISOString(),
    aliases: r.aliases ?? [],
  };
}

export class BuiltinRegistry implements ModelRegistry {
  readonly kind = 'builtin' as const;

  constructor(private readonly db: Database) {}

  async createModel(name: string, description = ''): Promise<RegisteredModel> {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name))
      throw new RangeError(`invalid model name ${JSON.stringify(name)}: letters, digits, . _ - (max 128)`);
    await this.db.query('INSERT INTO registered_models (name, description) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [
      name,
      description,
    ]);
    return this.getModel(name);
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const { rows } = await this.db.query<{ name: string; description: string; created_at: Date; latest: number | null }>(
      'SELECT m.*, (SELECT max(version) FROM model_versions v WHERE v.model = m.name) AS latest FROM registered_models m WHERE m.name = $1',
      [name],
    );
    const m = rows[0];
    if (!m) throw new ModelNotFoundError(name);
    const aliases = await this.db.query<{ alias: string; version: number }>(
      'SELECT alias, version FROM model_aliases WHERE model = $1 ORDER BY alias',
      [name],
    );
    return {
      name: m.name,
      description: m.description,
      createdAt: m.created_at.toISOString(),
      latestVersion: m.latest,
      aliases: Object.fromEntries(aliases.rows.map((a) => [a.alias, a.version])),
    };
  }

  async listModels(): Promise<RegisteredModel[]> {
    const { rows } = await this.db.query<{ name: string }>('SELECT name FROM registered_models ORDER BY name');
    return Promise.all(rows.map((r) => this.getModel(r.name)));
  }

  async createVersion(input: CreateVersionInput): Promise<ModelVersion> {
    await this.createModel(input.model);
    const version = await this.db.transaction(async (tx) => {
      // Serializes version numbering per model.
      await tx.query('SELECT name FROM registered_models WHERE name = $1 FOR UPDATE', [input.model]);
      const existing = await tx.query<{ version: number }>('SELECT version FROM model_versions WHERE model = $1 AND run_id = $2', [
        input.model,
        input.runId,
      ]);
      if (existing.rows[0]) return existing.rows[0].version;
      const next = await tx.query<{ v: number }>('SELECT coalesce(max(version), 0) + 1 AS v FROM model_versions WHERE model = $1', [
        input.model,
      ]);
      const v = next.rows[0]!.v;
      await tx.query(
        `INSERT INTO model_versions (model, version, run_id, artifact_uri, lineage, metrics, gate_report_uri, tags, description)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          input.model,
          v,
          input.runId,
          input.artifactUri,
          JSON.stringify(input.lineage),
          JSON.stringify(input.metrics ?? {}),
          input.gateReportUri ?? null,
          JSON.stringify(input.tags ?? {}),
          input.description ?? '',
        ],
      );
      return v;
    });
    return this.getVersion(input.model, version);
  }

  async getVersion(model: string, version: number): Promise<ModelVersion> {
    const { rows } = await this.db.query<VersionRow>(`${VERSION_SELECT} WHERE v.model = $1 AND v.version = $2`, [model, version]);
    if (!rows[0]) {
      await this.getModel(model); // ModelNotFoundError first, when the model itself is missing
      throw new VersionNotFoundError(model, version);
    }
    return toVersion(rows[0]);
  }

  async searchVersions(model: string, filter: { tags?: Record<string, string> } = {}): Promise<ModelVersion[]> {
    await this.getModel(model);
    const { rows } = await this.db.query<VersionRow>(
      `${VERSION_SELECT} WHERE v.model = $1 AND v.tags @> $2::jsonb ORDER BY v.version DESC`,
      [model, JSON.stringify(filter.tags ?? {})],
    );
    return rows.map(toVersion);
  }

  async setVersionTag(model: string, version: number, key: string, value: string): Promise<void> {
    const res = await this.db.query(
      'UPDATE model_versions SET tags = tags || jsonb_build_object($3::text, $4::text) WHERE model = $1 AND version = $2',
      [model, version, key, value],
    );
    if (res.rowCount === 0) await this.getVersion(model, version);
  }

  async #currentAlias(tx: Queryable, model: string, alias: string): Promise<number | null> {
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM model_aliases WHERE model = $1 AND alias = $2 FOR UPDATE', [
      model,
      alias,
    ]);
    return rows[0]?.version ?? null;
  }

  async setAlias(model: string, alias: string, version: number, by: Actor): Promise<AliasMove> {
    await this.getVersion(model, version);
    return this.db.transaction(async (tx) => {
      const from = await this.#currentAlias(tx, model, alias);
      await tx.query(
        'INSERT INTO model_aliases (model, alias, version) VALUES ($1, $2, $3) ON CONFLICT (model, alias) DO UPDATE SET version = EXCLUDED.version',
        [model, alias, version],
      );
      return audit.recordAliasMove(tx, { model, alias, fromVersion: from, toVersion: version, ...by });
    });
  }

  async getAlias(model: string, alias: string): Promise<ModelVersion> {
    const { rows } = await this.db.query<{ version: number }>('SELECT version FROM model_aliases WHERE model = $1 AND alias = $2', [
      model,
      alias,
    ]);
    if (!rows[0]) {
      await this.getModel(model);
      throw new AliasNotFoundError(model, alias);
    }
    return this.getVersion(model, rows[0].version);
  }

  async deleteAlias(model: string, alias: string, by: Actor): Promise<AliasMove> {
    return this.db.transaction(async (tx) => {
      const from = await this.#currentAlias(tx, model, alias);
      if (from === null) throw new AliasNotFoundError(model, alias);
      await tx.query('DELETE FROM model_aliases WHERE model = $1 AND alias = $2', [model, alias]);
      return audit.recordAliasMove(tx, { model, alias, fromVersion: from, toVersion: null, ...by });
    });
  }

  aliasHistory(model: string, alias?: string): Promise<AliasMove[]> {
    return audit.aliasHistory(this.db, model, alias);
  }

  async rollback(model: string, by: Actor, alias = 'champion'): Promise<AliasMove> {
    const previous = await audit.previousTarget(this.db, model, alias);
    if (previous === undefined || previous === null)
      throw new RegistryConflictError(`nothing to roll back: ${model}@${alias} has no previous version`);
    return this.setAlias(model, alias, previous, by);
  }

  recordApproval(record: Omit<ApprovalRecord, 'at'>): Promise<ApprovalRecord> {
    return audit.recordApproval(this.db, record);
  }

  approvals(model: string, version?: number): Promise<ApprovalRecord[]> {
    return audit.approvals(this.db, model, version);
  }
}
