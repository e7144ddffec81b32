// API keys for the inference server: `fw_<id>_<secret>`, shown once at creation, stored only as
// a SHA-256 of the whole key. Scopes say what a key may do; a revoked key stops working.
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/index.ts';

/** predict: predictions and jobs; feedback: labels for predictions (they steer rollouts and the
 * drift monitor, so posting them is a right of its own); admin: routing and reloads; events:
 * data-arrival events. */
export const API_KEY_SCOPES = ['predict', 'feedback', 'admin', 'events'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: ApiKeyScope[];
  /** Requests per second for this key; null: the server's default. */
  rateLimitRps: number | null;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface CreateApiKeyInput {
  name: string;
  scopes: readonly ApiKeyScope[];
  rateLimitRps?: number;
}

export class ApiKeyError extends Error {
  override readonly name = 'ApiKeyError';
}

const KEY_FORMAT = /^fw_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Whether a string has the shape of a Flywheel key (checked before any database lookup). */
export function looksLikeApiKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

export async function createApiKey(db: Queryable, input: CreateApiKeyInput): Promise<{ key: string; info: ApiKeyInfo }> {
  if (!input.name.trim()) throw new ApiKeyError('a key needs a name (who or what uses it)');
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0) throw new ApiKeyError(`a key needs at least one scope (${API_KEY_SCOPES.join(', ')})`);
  for (const s of scopes)
    if (!API_KEY_SCOPES.includes(s)) throw new ApiKeyError(`unknown scope ${JSON.stringify(s)}; scopes are ${API_KEY_SCOPES.join(', ')}`);
  if (input.rateLimitRps !== undefined && !(input.rateLimitRps > 0 && Number.isFinite(input.rateLimitRps))) {
    throw new ApiKeyError(`rate limit must be a positive number of requests per second, got ${input.rateLimitRps}`);
  }
  const id = randomBytes(4).toString('hex');
  const key = `fw_${id}_${randomBytes(32).toString('base64url')}`;
  const { rows } = await db.query<RowShape>(
    `INSERT INTO api_keys (id, name, key_hash, scopes, rate_limit_rps) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
    [id, input.name.trim(), hashApiKey(key), scopes, input.rateLimitRps ?? null],
  );
  return { key, info: toInfo(rows[0]!) };
}

/** The key's record when it exists and is not revoked. */
export async function findApiKey(db: Queryable, key: string): Promise<ApiKeyInfo | undefined> {
  if (!looksLikeApiKey(key)) return undefined;
  const { rows } = await db.query<RowShape>(`SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [hashApiKey(key)]);
  return rows[0] ? toInfo(rows[0]) : undefined;
}

/** A key's record whatever its state (revoked ones too, so a caller can say why it is refused),
 * by the SHA-256 of the whole key or by its id. */
export async function apiKeyRecord(db: Queryable, by: { hash: string } | { id: string }): Promise<ApiKeyInfo | undefined> {
  const { rows } =
    'hash' in by
      ? await db.query<RowShape>(`SELECT * FROM api_keys WHERE key_hash = $1`, [by.hash])
      : await db.query<RowShape>(`SELECT * FROM api_keys WHERE id = $1`, [by.id]);
  return rows[0] ? toInfo(rows[0]) : undefined;
}

/** Every key that is not revoked, by the hash a presented key is looked up with. */
export async function listActiveApiKeys(db: Queryable): Promise<Map<string, ApiKeyInfo>> {
  const { rows } = await db.query<RowShape & { key_hash: string }>(`SELECT * FROM api_keys WHERE revoked_at IS NULL`);
  return new Map(rows.map((r) => [r.key_hash, toInfo(r)]));
}

export async function listApiKeys(db: Queryable): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<RowShape>(`SELECT * FROM api_keys ORDER BY created_at, id`);
  return rows.map(toInfo);
}

export async function revokeApiKey(db: Queryable, id: string): Promise<ApiKeyInfo> {
  const { rows } = await db.query<RowShape>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING *`, [id]);
  if (!rows[0]) throw new ApiKeyError(`no API key with id ${id}`);
  return toInfo(rows[0]);
}

interface RowShape extends Record<string, unknown> {
  id: string;
  name: string;
  scopes: string[];
  rate_limit_rps: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

function toInfo(row: RowShape): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    rateLimitRps: row.rate_limit_rps,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}
