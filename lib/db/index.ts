// Opens the configured database (PostgreSQL at DATABASE_URL, else PGlite in the data folder)
// and applies migrations.
import type { DatabaseConfig } from '../config/index.ts';
import { migrate, type MigrationResult } from './migrations.ts';
import { PGliteDatabase } from './pglite.ts';
import { PostgresDatabase, type PostgresDatabaseOptions } from './postgres.ts';
import type { Database } from './types.ts';

export interface OpenDatabaseOptions {
  /** @default true */
  migrate?: boolean;
  /** Pool settings when the database is PostgreSQL. */
  postgres?: PostgresDatabaseOptions;
}

export async function openDatabase(
  config: DatabaseConfig,
  options: OpenDatabaseOptions = {},
): Promise<{ db: Database; migrations?: MigrationResult }> {
  const schema = config.schema !== undefined ? { schema: config.schema } : {};
  const db =
    config.kind === 'postgres'
      ? await PostgresDatabase.create(config.url.reveal(), { ...options.postgres, ...schema })
      : await PGliteDatabase.create(config.dataDir, schema);
  if (options.migrate === false) return { db };
  try {
    return { db, migrations: await migrate(db) };
  } catch (err) {
    await db.close();
    throw err;
  }
}

export type { Database, Queryable, QueryResult, Row } from './types.ts';
export { migrate, loadMigrations, MigrationError, type Migration, type MigrationResult } from './migrations.ts';
export { PGliteDatabase, PGliteLockedError, PGLITE_LOCK_FILE, type PGliteLockHolder, type PGliteOpenOptions } from './pglite.ts';
export { PostgresDatabase, type PostgresDatabaseOptions } from './postgres.ts';
export { checkSchemaName, ensureSchema, InvalidSchemaNameError, searchPathOption } from './schema.ts';
