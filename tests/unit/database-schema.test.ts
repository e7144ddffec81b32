// FLYWHEEL_DB_SCHEMA: the name is checked before it reaches SQL, configuration carries it, and on
// PGlite two schemas in one database keep their own migrations and tables.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import { checkSchemaName, InvalidSchemaNameError, openDatabase, searchPathOption } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';

describe('schema names', () => {
  it('accept plain lowercase identifiers only', () => {
    expect(checkSchemaName('staging')).toBe('staging');
    expect(searchPathOption('prod_eu')).toBe('-c search_path=prod_eu');
    for (const bad of ['Prod', 'a-b', 'x"; DROP SCHEMA public; --', '', 'pg_catalog', '1abc', 'a'.repeat(64)])
      expect(() => checkSchemaName(bad), bad).toThrow(InvalidSchemaNameError);
  });

  it('come from FLYWHEEL_DB_SCHEMA, public left out, and a bad one is a configuration error', () => {
    expect(loadConfig('cli', {}).database).not.toHaveProperty('schema');
    expect(loadConfig('cli', { FLYWHEEL_DB_SCHEMA: 'public' }).database).not.toHaveProperty('schema');
    expect(loadConfig('cli', { FLYWHEEL_DB_SCHEMA: 'staging', DATABASE_URL: 'postgres://u:p@h/db' }).database).toMatchObject({
      kind: 'postgres',
      schema: 'staging',
    });
    expect(() => loadConfig('cli', { FLYWHEEL_DB_SCHEMA: 'Staging' })).toThrow(ConfigError);
    expect(() => loadConfig('cli', { FLYWHEEL_DB_SCHEMA: 'pg_toast' })).toThrow(/FLYWHEEL_DB_SCHEMA/);
  });
});

describe('PGlite with a schema', () => {
  it('keeps two environments in one database apart', async () => {
    const { db: staging, migrations } = await openDatabase({ kind: 'pglite', dataDir: 'memory://', schema: 'staging' });
    try {
      expect(migrations?.applied.length).toBeGreaterThan(0);
      await new BuiltinRegistry(staging).createModel('m');
      // A second schema in the same database: its own migrations, its own empty registry.
      await staging.exec('CREATE SCHEMA prod; SET search_path TO prod');
      const { migrate } = await import('../../lib/db/index.ts');
      expect((await migrate(staging)).applied.length).toBe(migrations!.applied.length);
      expect(await new BuiltinRegistry(staging).listModels()).toEqual([]);
      await staging.exec('SET search_path TO staging');
      expect((await new BuiltinRegistry(staging).listModels()).map((m) => m.name)).toEqual(['m']);
    } finally {
      await staging.close();
    }
  }, 60_000);
});
