// The database contract: PostgreSQL and PGlite must run the same SQL and return the same JS
// types, and migrations must be idempotent on both.
import { describe, expect, it } from 'vitest';
import { loadMigrations, migrate, MigrationError, type Database, type Migration } from '../../lib/db/index.ts';

export function describeDatabaseContract(name: string, open: () => Promise<Database>): void {
  describe(`Database contract: ${name}`, () => {
    it('applies migrations once; a second run applies nothing', async () => {
      const db = await open();
      try {
        const first = await migrate(db);
        const all = await loadMigrations();
        expect(first.applied).toHaveLength(all.length);
        const second = await migrate(db);
        expect(second).toEqual({ applied: [], alreadyApplied: all.length });
        const { rows } = await db.query<{ version: number }>('SELECT version FROM flywheel_schema_migrations ORDER BY version');
        expect(rows.map((r) => r.version)).toEqual(all.map((m) => m.version));
      } finally {
        await db.close();
      }
    });

    it('concurrent migrators apply each migration exactly once', async () => {
      const db = await open();
      try {
        const results = await Promise.all([migrate(db), migrate(db), migrate(db)]);
        const total = results.reduce((n, r) => n + r.applied.length, 0);
        expect(total).toBe((await loadMigrations()).length);
      } finally {
        await db.close();
      }
    });

    it('refuses a migration whose file changed after it was applied', async () => {
      const db = await open();
      try {
        const all = await loadMigrations();
        await migrate(db, all);
        const edited: Migration[] = all.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
        await expect(migrate(db, edited)).rejects.toThrow(MigrationError);
        await expect(migrate(db, edited)).rejects.toThrow(/0*1_audit_log|audit_log/);
      } finally {
        await db.close();
      }
    });

    it('returns the same JS types for common column types', async () => {
      const db = await open();
      try {
        const { rows, rowCount } = await db.query(
          `SELECT 42::int8 AS big, 7::int4 AS small, 1.5::numeric AS num, 2.25::float8 AS dbl,
                  '{"a":[1,2]}'::jsonb AS doc, '2026-01-02T03:04:05Z'::timestamptz AS at,
                  true AS flag, ARRAY['x','y'] AS tags, '\\x0102'::bytea AS raw, NULL::text AS nothing`,
        );
        expect(rowCount).toBe(1);
        const row = rows[0]!;
        expect(row.big).toBe(42);
        expect(row.small).toBe(7);
        expect(row.num).toBe('1.5');
        expect(row.dbl).toBe(2.25);
        expect(row.doc).toEqual({ a: [1, 2] });
        expect(row.at).toBeInstanceOf(Date);
        expect((row.at as Date).toISOString()).toBe('2026-01-02T03:04:05.000Z');
        expect(row.flag).toBe(true);
        expect(row.tags).toEqual(['x', 'y']);
        expect(row.raw).toBeInstanceOf(Uint8Array);
        expect([...(row.raw as Uint8Array)]).toEqual([1, 2]);
        expect(row.nothing).toBeNull();
      } finally {
        await db.close();
      }
    });

    it('binds parameters and reports affected rows', async () => {
      const db = await open();
      try {
        await migrate(db);
        const ins = await db.query(
          'INSERT INTO audit_log (actor, action, subject, reason, details) VALUES ($1, $2, $3, $4, $5), ($1, $2, $3, NULL, $5)',
          ['alice', 'test', `subject-${name}`, 'because', JSON.stringify({ n: 1 })],
        );
        expect(ins.rowCount).toBe(2);
        const sel = await db.query<{ actor: string; details: unknown; id: number }>(
          'SELECT id, actor, details FROM audit_log WHERE subject = $1 ORDER BY id',
          [`subject-${name}`],
        );
        expect(sel.rows).toHaveLength(2);
        expect(sel.rows[0]).toMatchObject({ actor: 'alice', details: { n: 1 } });
        expect(typeof sel.rows[0]!.id).toBe('number');
        const del = await db.query('DELETE FROM audit_log WHERE subject = $1', [`subject-${name}`]);
        expect(del.rowCount).toBe(2);
      } finally {
        await db.close();
      }
    });

    it('commits a transaction that resolves and rolls back one that throws', async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE IF NOT EXISTS contract_tx (v int)');
        await db.query('DELETE FROM contract_tx');
        await db.transaction(async (tx) => {
          await tx.query('INSERT INTO contract_tx VALUES ($1)', [1]);
        });
        await expect(
          db.transaction(async (tx) => {
            await tx.query('INSERT INTO contract_tx VALUES ($1)', [2]);
            throw new Error('abort this one');
          }),
        ).rejects.toThrow('abort this one');
        const { rows } = await db.query<{ v: number }>('SELECT v FROM contract_tx ORDER BY v');
        expect(rows.map((r) => r.v)).toEqual([1]);
      } finally {
        await db.close();
      }
    });

    it('bulk-loads CSV with COPY, also inside a transaction', async () => {
      const db = await open();
      try {
        await db.exec('CREATE TABLE IF NOT EXISTS contract_copy (id bigint, p real, label text)');
        await db.query('DELETE FROM contract_copy');
        const csv = Array.from({ length: 1000 }, (_, i) => `${i},${(i / 1000).toFixed(3)},"row, ${i}"`).join('\n') + '\n';
        expect(await db.copyFromCsv('contract_copy', ['id', 'p', 'label'], csv)).toBe(1000);
        await expect(
          db.transaction(async (tx) => {
            await tx.copyFromCsv('contract_copy', ['id', 'p', 'label'], '5000,0.5,x\n');
            throw new Error('roll it back');
          }),
        ).rejects.toThrow('roll it back');
        const { rows } = await db.query<{ n: number; s: number; l: string }>(
          'SELECT count(*)::int8 AS n, sum(id)::int8 AS s, max(label) FILTER (WHERE id = 7) AS l FROM contract_copy',
        );
        expect(rows[0]).toEqual({ n: 1000, s: 499500, l: 'row, 7' });
      } finally {
        await db.close();
      }
    });

    it('surfaces SQL errors with the database message', async () => {
      const db = await open();
      try {
        await expect(db.query('SELECT * FROM no_such_table')).rejects.toThrow(/no_such_table/);
      } finally {
        await db.close();
      }
    });
  });
}
