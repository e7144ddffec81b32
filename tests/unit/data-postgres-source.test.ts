// The PostgreSQL source's local half: the column types the server reports become DuckDB types,
// PostgreSQL's CSV (null unquoted, the empty string quoted) reads back exactly, and a missing
// connection-string variable is refused without a connection attempt. The query against a real
// server is in tests/integration/data-sources.test.ts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { SourceNotFoundError } from '../../lib/data/errors.ts';
import { duckTypeOfPg, pgCsvToParquet, postgresToParquet } from '../../lib/data/postgres-source.ts';
import { parseSourceSpec } from '../../lib/data/source-spec.ts';

describe('postgres source', () => {
  it('maps the server types it knows and reads the rest as text', () => {
    expect([16, 20, 21, 23, 700, 701, 1700, 1082, 1083, 1114, 1184].map(duckTypeOfPg)).toEqual([
      'BOOLEAN',
      'BIGINT',
      'SMALLINT',
      'INTEGER',
      'FLOAT',
      'DOUBLE',
      'DOUBLE',
      'DATE',
      'TIME',
      'TIMESTAMP',
      'TIMESTAMPTZ',
    ]);
    expect([25, 1043, 1042, 114, 3802, 2950, 1007].map(duckTypeOfPg)).toEqual(Array(7).fill('VARCHAR'));
  });

  it('reads COPY … (FORMAT csv) output with the reported types: null vs empty string, quotes, zones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-pg-'));
    const csv = join(dir, 'rows.csv');
    // As PostgreSQL writes it with DateStyle ISO and TimeZone UTC.
    await writeFile(
      csv,
      [
        '1,t,2001-01-01 00:01:00,2001-01-01 05:00:00+00,3.25,"a, ""quoted"" city",2001-01-01',
        '2,f,2001-01-02 10:30:00.5,2001-01-02 00:00:00+00,,"",2001-01-02',
        '3,,,,-1e+300,"two\nlines, and a ""quote""",',
        '4,t,2001-01-03 00:00:00,2001-01-03 00:00:00+00,0,,2001-01-03',
        '',
      ].join('\n'),
    );
    const fields = [
      { name: 'id', dataTypeID: 20 },
      { name: 'ok', dataTypeID: 16 },
      { name: 'at', dataTypeID: 1114 },
      { name: 'at_utc', dataTypeID: 1184 },
      { name: 'fare', dataTypeID: 701 },
      { name: 'city', dataTypeID: 25 },
      { name: 'day', dataTypeID: 1082 },
    ];
    await withDuck(async (duck) => {
      await pgCsvToParquet(duck, csv, fields, join(dir, 'rows.parquet'));
      const types = await duck.all(
        `SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT * FROM '${join(dir, 'rows.parquet')}')`,
      );
      expect(types).toEqual([
        { c: 'id', t: 'BIGINT' },
        { c: 'ok', t: 'BOOLEAN' },
        { c: 'at', t: 'TIMESTAMP' },
        { c: 'at_utc', t: 'TIMESTAMP WITH TIME ZONE' },
        { c: 'fare', t: 'DOUBLE' },
        { c: 'city', t: 'VARCHAR' },
        { c: 'day', t: 'DATE' },
      ]);
      const rows = await duck.all(
        `SELECT id, ok, strftime("at", '%Y-%m-%d %H:%M:%S.%g') AS "at", epoch(at_utc) AS utc, fare, city, day::VARCHAR AS day FROM '${join(dir, 'rows.parquet')}' ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: 1, ok: true, at: '2001-01-01 00:01:00.000', utc: 978325200, fare: 3.25, city: 'a, "quoted" city', day: '2001-01-01' },
        { id: 2, ok: false, at: '2001-01-02 10:30:00.500', utc: 978393600, fare: null, city: '', day: '2001-01-02' },
        { id: 3, ok: null, at: null, utc: null, fare: -1e300, city: 'two\nlines, and a "quote"', day: null },
        { id: 4, ok: true, at: '2001-01-03 00:00:00.000', utc: 978480000, fare: 0, city: null, day: '2001-01-03' },
      ]);

      await writeFile(join(dir, 'none.csv'), '');
      await pgCsvToParquet(duck, join(dir, 'none.csv'), fields, join(dir, 'none.parquet'));
      expect(await duck.all(`SELECT count(*)::BIGINT AS n FROM '${join(dir, 'none.parquet')}'`)).toEqual([{ n: 0 }]);

      await expect(pgCsvToParquet(duck, csv, [fields[0]!, fields[0]!], join(dir, 'x.parquet'))).rejects.toThrow(
        'the query returns two columns named id; give each column its own name (AS …)',
      );
    });
  });

  it('refuses a source whose connection-string variable is not set, naming the variable only', async () => {
    const spec = parseSourceSpec({ postgres: { query: 'SELECT 1', url: 'TRIPS_DATABASE_URL' } });
    await withDuck(async (duck) => {
      const err = await postgresToParquet(duck, spec.postgres!, {
        tmpDir: tmpdir(),
        env: { DATABASE_URL: 'postgres://u:secret@h/db' },
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceNotFoundError);
      expect((err as Error).message).toBe('the postgres source reads its connection string from TRIPS_DATABASE_URL, which is not set');
    });
  });
});
