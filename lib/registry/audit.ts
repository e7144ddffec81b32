// Alias history and approval records in Flywheel's database. Both registry backends keep them
// here: MLflow's registry has neither (no approval flow, no alias history).
import type { Queryable } from '../db/index.ts';
import { toStorableText } from '../text/storable.ts';
import type { AliasMove, ApprovalRecord } from './types.ts';

type MoveRow = {
  model: string;
  alias: string;
  from_version: number | null;
  to_version: number | null;
  actor: string;
  reason: string;
  at: Date;
};

function toMove(r: MoveRow): AliasMove {
  return {
    model: r.model,
    alias: r.alias,
    fromVersion: r.from_version,
    toVersion: r.to_version,
    actor: r.actor,
    reason: r.reason,
    at: r.at.toISOString(),
  };
}

export async function recordAliasMove(db: Queryable, move: Omit<AliasMove, 'at'>): Promise<AliasMove> {
  const { rows } = await db.query<MoveRow>(
    `INSERT INTO model_alias_history (model, alias, from_version, to_version, actor, reason)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
    // Who and why as a person wrote them, minus what PostgreSQL refuses (a NUL): a decision a
    // workflow already accepted is kept, not failed on every retry.
    [move.model, move.alias, move.fromVersion, move.toVersion, toStorableText(move.actor), toStorableText(move.reason)],
  );
  return toMove(rows[0]!);
}

export async function aliasHistory(db: Queryable, model: string, alias?: string): Promise<AliasMove[]> {
  const { rows } = alias
    ? await db.query<MoveRow>('SELECT * FROM model_alias_history WHERE model = $1 AND alias = $2 ORDER BY id', [model, alias])
    : await db.query<MoveRow>('SELECT * FROM model_alias_history WHERE model = $1 ORDER BY id', [model]);
  return rows.map(toMove);
}

/** The version `alias` pointed at before its latest move (what a rollback restores). */
export async function previousTarget(db: Queryable, model: string, alias: string): Promise<number | null | undefined> {
  const { rows } = await db.query<{ from_version: number | null }>(
    'SELECT from_version FROM model_alias_history WHERE model = $1 AND alias = $2 ORDER BY id DESC LIMIT 1',
    [model, alias],
  );
  return rows[0] ? rows[0].from_version : undefined;
}

type ApprovalRow = {
  model: string;
  version: number;
  decision: 'approved' | 'rejected';
  actor: string;
  reason: string;
  at: Date;
};

export async function recordApproval(db: Queryable, record: Omit<ApprovalRecord, 'at'>): Promise<ApprovalRecord> {
  const { rows } = await db.query<ApprovalRow>(
    'INSERT INTO model_approvals (model, version, decision, actor, reason) VALUES ($1, $2, $3, $4, $5) RETURNING *',
    [record.model, record.version, record.decision, toStorableText(record.actor), toStorableText(record.reason)],
  );
  const r = rows[0]!;
  return { ...record, actor: r.actor, reason: r.reason, at: r.at.toISOString() };
}

export async function approvals(db: Queryable, model: string, version?: number): Promise<ApprovalRecord[]> {
  const { rows } =
    version === undefined
      ? await db.query<ApprovalRow>('SELECT * FROM model_approvals WHERE model = $1 ORDER BY id', [model])
      : await db.query<ApprovalRow>('SELECT * FROM model_approvals WHERE model = $1 AND version = $2 ORDER BY id', [model, version]);
  return rows.map((r) => ({
    model: r.model,
    version: r.version,
    decision: r.decision,
    actor: r.actor,
    reason: r.reason,
    at: r.at.toISOString(),
  }));
}
