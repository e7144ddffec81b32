// One database, several environments: each keeps every Flywheel table in its own PostgreSQL schema
// (FLYWHEEL_DB_SCHEMA). The name goes into SQL and a connection option unquoted, so only plain
// lowercase identifiers pass; anything else is refused before a connection opens.
import type { Queryable } from './types.ts';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export class InvalidSchemaNameError extends Error {
  override readonly name = 'InvalidSchemaNameError';
  constructor(readonly schema: string) {
    super(`database schema ${JSON.stringify(schema)} is not a plain lowercase identifier (a-z, 0-9, _; ≤ 63; not pg_*)`);
  }
}

/** The name unchanged, or InvalidSchemaNameError. */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema) || schema.startsWith('pg_')) throw new InvalidSchemaNameError(schema);
  return schema;
}

/** The libpq `options` that make every connection of a pool resolve names in `schema` only:
 * nothing falls through to public, so one environment never reads another's tables. */
export function searchPathOption(schema: string): string {
  return `-c search_path=${checkSchemaName(schema)}`;
}

/** Creates the schema when it is missing (before migrations run in it). */
export async function ensureSchema(db: Queryable, schema: string): Promise<void> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS ${checkSchemaName(schema)}`);
}
