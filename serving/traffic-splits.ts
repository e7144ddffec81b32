// Canary and shadow settings per model, persisted so they survive restarts and every replica
// converges on the same weights (each polls this table).
import type { Queryable } from '../lib/db/index.ts';

export interface StoredRoute {
  model: string;
  canary: { version: number; weight: number } | null;
  shadow: number | null;
  updatedBy: string;
  updatedAt: Date;
}

interface Row extends Record<string, unknown> {
  model: string;
  canary_version: number | null;
  canary_weight: number;
  shadow_version: number | null;
  updated_by: string;
  updated_at: Date;
}

function toRoute(row: Row): StoredRoute {
  return {
    model: row.model,
    canary: row.canary_version === null ? null : { version: row.canary_version, weight: row.canary_weight },
    shadow: row.shadow_version,
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}

export async function readRoutes(db: Queryable): Promise<Map<string, StoredRoute>> {
  const { rows } = await db.query<Row>(`SELECT * FROM serving_routes`);
  return new Map(rows.map((r) => [r.model, toRoute(r)]));
}

export async function writeRoute(
  db: Queryable,
  route: { model: string; canary: { version: number; weight: number } | null; shadow: number | null; updatedBy: string },
): Promise<StoredRoute> {
  const { rows } = await db.query<Row>(
    `INSERT INTO serving_routes (model, canary_version, canary_weight, shadow_version, updated_by, updated_at)
     VALUES ($1, $2, $3, $4, $5, now())
     ON CONFLICT (model) DO UPDATE SET canary_version = EXCLUDED.canary_version, canary_weight = EXCLUDED.canary_weight,
       shadow_version = EXCLUDED.shadow_version, updated_by = EXCLUDED.updated_by, updated_at = now()
     RETURNING *`,
    [route.model, route.canary?.version ?? null, route.canary?.weight ?? 0, route.shadow, route.updatedBy],
  );
  return toRoute(rows[0]!);
}
