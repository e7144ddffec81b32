// The model registry: the single source of truth for which model version runs where, with an
// audit trail of who moved it and why. Two backends implement it (built-in SQL and MLflow) and
// pass one contract suite.

export interface Lineage {
  datasetVersion: string;
  featureSpecHash: string;
  /** Source revision that trained the model (git SHA), when known. */
  codeRevision?: string;
  params: Record<string, unknown>;
}

export interface CreateVersionInput {
  model: string;
  /** Where the model file lives (s3://… or file://…). */
  artifactUri: string;
  /** The training run's id: registering the same run twice yields one version. */
  runId: string;
  lineage: Lineage;
  metrics?: Record<string, number>;
  gateReportUri?: string;
  tags?: Record<string, string>;
  description?: string;
}

export interface ModelVersion {
  model: string;
  version: number;
  runId: string;
  artifactUri: string;
  lineage: Lineage;
  metrics: Record<string, number>;
  gateReportUri?: string;
  tags: Record<string, string>;
  description: string;
  createdAt: string;
  /** Aliases pointing at this version now. */
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  description: string;
  createdAt: string;
  latestVersion: number | null;
  aliases: Record<string, number>;
}

/** Who did it and why: required for every alias move and approval. */
export interface Actor {
  actor: string;
  reason: string;
}

export interface AliasMove {
  model: string;
  alias: string;
  fromVersion: number | null;
  toVersion: number | null;
  actor: string;
  reason: string;
  at: string;
}

export interface ApprovalRecord {
  model: string;
  version: number;
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  at: string;
}

export const ALIASES = { champion: 'champion', challenger: 'challenger' } as const;

export interface ModelRegistry {
  readonly kind: 'builtin' | 'mlflow';
  /** Idempotent. */
  createModel(name: string, description?: string): Promise<RegisteredModel>;
  getModel(name: string): Promise<RegisteredModel>;
  listModels(): Promise<RegisteredModel[]>;
  /** Creates the model if needed; the same `runId` returns the existing version. */
  createVersion(input: CreateVersionInput): Promise<ModelVersion>;
  getVersion(model: string, version: number): Promise<ModelVersion>;
  /** Newest first; `tags` filters by exact tag values. */
  searchVersions(model: string, filter?: { tags?: Record<string, string> }): Promise<ModelVersion[]>;
  setVersionTag(model: string, version: number, key: string, value: string): Promise<void>;
  setAlias(model: string, alias: string, version: number, by: Actor): Promise<AliasMove>;
  getAlias(model: string, alias: string): Promise<ModelVersion>;
  deleteAlias(model: string, alias: string, by: Actor): Promise<AliasMove>;
  /** Oldest first. */
  aliasHistory(model: string, alias?: string): Promise<AliasMove[]>;
  /** Moves `alias` (default champion) back to the version it pointed at before its last move. */
  rollback(model: string, by: Actor, alias?: string): Promise<AliasMove>;
  recordApproval(record: Omit<ApprovalRecord, 'at'>): Promise<ApprovalRecord>;
  approvals(model: string, version?: number): Promise<ApprovalRecord[]>;
}
