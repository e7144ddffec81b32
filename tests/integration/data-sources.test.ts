// Data sources against the real servers: globs and prefixes listed from the S3-compatible store
// (the store's own prefix, and another bucket path reached as a foreign location, including an
// object written without Flywheel's checksum metadata), partitions written to S3 and read back,
// and a PostgreSQL query source streamed out of a real server into Parquet with its types.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { SourceNotFoundError } from '../../lib/data/errors.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { writePartitions } from '../../lib/data/partitions.ts';
import { expandSourceUri, resolveSource } from '../../lib/data/resolve.ts';
import { parseSourceSpec } from '../../lib/data/source-spec.ts';
import type { SourceContext } from '../../lib/data/sources.ts';
import { LocalArtifactStore, S3ArtifactStore } from '../../lib/storage/index.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { createPrivateDatabase, withPgClient, type PrivateDatabase } from './private-database.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const client = new S3Client({ region: 'us-east-1', endpoint: infra.s3Endpoint, forcePathStyle: true });
const prefix = `sources-${tag}`;
const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/${prefix}`, { client });
const bucketUri = `s3://${infra.s3Bucket}/${prefix}`;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'flywheel-sources-it-'));
  await store.put('raw/weather/day=2001-01-01/part-0000.csv', 'x,y\n1,a\n2,b\n');
  await store.put('raw/weather/day=2001-01-02/part-0000.csv', 'x,y\n3,c\n');
  await store.put('raw/weather/day=2001-01-02/_SUCCESS', '');
  await store.put('raw/weatherstation/day=2001-01-01/part-0000.csv', 'x,y\n7,q\n');
  // Written by another tool: no sha256 metadata, so the checksum comes from the download.
  await client.send(
    new PutObjectCommand({ Bucket: infra.s3Bucket, Key: `${prefix}/raw/weather/day=2001-01-03/part-0000.csv`, Body: 'x,y\n4,d\n' }),
  );
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
  client.destroy();
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('s3:// sources on the real store', () => {
  it('expands a glob and a prefix to the sorted objects, skipping hidden names', async () => {
    const ctx: SourceContext = { store };
    const days = ['2001-01-01', '2001-01-02', '2001-01-03'].map((d) => `${bucketUri}/raw/weather/day=${d}/part-0000.csv`);
    expect(await expandSourceUri(ctx, `${bucketUri}/raw/weather/day=*/part-*.csv`)).toEqual(days);
    expect(await expandSourceUri(ctx, `${bucketUri}/raw/weather/`)).toEqual(days);
    expect(await expandSourceUri(ctx, `${bucketUri}/raw/**/part-0000.csv`)).toHaveLength(4);
    const err = await expandSourceUri(ctx, `${bucketUri}/raw/rain/*.csv`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotFoundError);
    expect((err as Error).message).toBe(`no files match ${bucketUri}/raw/rain/*.csv`);
  });

  it('reads the objects of another bucket path with their checksums, recorded or computed', async () => {
    // The context's own store is a local folder: the s3:// URIs are a foreign location.
    const local = await LocalArtifactStore.create(pathToFileURL(join(tmp, 'store')).toString());
    const ctx: SourceContext = { store: local, s3: { client } };
    await withDuck(async (duck) => {
      const resolved = await resolveSource(duck, ctx, parseSourceSpec({ uri: `${bucketUri}/raw/weather/` }), { tmpDir: tmp });
      expect(resolved.format).toBe('csv');
      expect(resolved.files.map((f) => f.sha256)).toEqual([sha256('x,y\n1,a\n2,b\n'), sha256('x,y\n3,c\n'), sha256('x,y\n4,d\n')]);
      expect(await duck.all(`SELECT x, y FROM ${resolved.sql} ORDER BY x`)).toEqual([
        { x: 1, y: 'a' },
        { x: 2, y: 'b' },
        { x: 3, y: 'c' },
        { x: 4, y: 'd' },
      ]);
    });
  });

  it('writes partitions to the store and reads them back through a glob', async () => {
    const from = `(SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE date < TIMESTAMP '2001-01-15')`;
    await withDuck(async (duck) => {
      const written = await writePartitions(duck, store, {
        dataset: 'flights',
        from,
        partitioning: { by: 'week', column: 'date' },
      });
      expect(written.map((p) => p.key)).toEqual([
        'raw/flights/week=2001-W01/part-0000.parquet',
        'raw/flights/week=2001-W02/part-0000.parquet',
      ]);
      const [{ n } = { n: 0 }] = await duck.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${from}`);
      const resolved = await resolveSource(duck, { store }, { uri: `${bucketUri}/raw/flights/week=*/part-0000.parquet` }, { tmpDir: tmp });
      expect(resolved.files.map((f) => f.sha256)).toEqual(await Promise.all(written.map(async (p) => (await store.stat(p.key))!.sha256)));
      expect(await duck.all(`SELECT count(*)::BIGINT AS n FROM ${resolved.sql}`)).toEqual([{ n }]);
      const again = await writePartitions(duck, store, { dataset: 'flights', from, partitioning: { by: 'week', column: 'date' } });
      expect(again.every((p) => !p.written)).toBe(true);
    });
  }, 120_000);
});

describe('a PostgreSQL query source on the real server', () => {
  let database: PrivateDatabase;
  let url: string;

  beforeAll(async () => {
    database = await createPrivateDatabase(infra.databaseUrl, 'flywheel_sources');
    url = database.url;
    await withPgClient(url, async (c) => {
      await c.query(`CREATE TABLE trips (
        id bigint PRIMARY KEY, city text, fare numeric(10, 2), ok boolean, at timestamp, at_utc timestamptz,
        day date, n integer, note text, tags text[], meta jsonb)`);
      await c.query(
        `INSERT INTO trips VALUES
          (1, 'Köln', 12.50, true, '2001-01-01 00:01:00', '2001-01-01 05:00:00+05', '2001-01-01', 3, '', '{a,b}', '{"k": 1}'),
          (2, E'a, "quoted"\\ncity', NULL, false, '2001-01-02 10:30:00.5', NULL, NULL, NULL, NULL, NULL, NULL)`,
      );
      await c.query(`CREATE TABLE events AS SELECT g AS id, g % 7 AS bucket, 'e' || g AS name FROM generate_series(1, 200000) AS g`);
    });
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('streams the rows into Parquet with the types the server reported', async () => {
    const spec = parseSourceSpec({ postgres: { query: 'SELECT * FROM trips ORDER BY id;', url: 'TRIPS_URL' }, label: 'fare' });
    await withDuck(async (duck) => {
      const resolved = await resolveSource(duck, { store }, spec, { tmpDir: tmp, env: { TRIPS_URL: url } });
      expect(resolved.format).toBe('parquet');
      expect(resolved.files[0]!.uri).toMatch(/^postgres:TRIPS_URL\/[0-9a-f]{16}$/);
      expect(await duck.all(`SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT * FROM ${resolved.sql})`)).toEqual([
        { c: 'id', t: 'BIGINT' },
        { c: 'city', t: 'VARCHAR' },
        { c: 'fare', t: 'DOUBLE' },
        { c: 'ok', t: 'BOOLEAN' },
        { c: 'at', t: 'TIMESTAMP' },
        { c: 'at_utc', t: 'TIMESTAMP WITH TIME ZONE' },
        { c: 'day', t: 'DATE' },
        { c: 'n', t: 'INTEGER' },
        { c: 'note', t: 'VARCHAR' },
        { c: 'tags', t: 'VARCHAR' },
        { c: 'meta', t: 'VARCHAR' },
      ]);
      const rows = await duck.all(
        `SELECT id, city, fare, ok, strftime("at", '%Y-%m-%d %H:%M:%S.%g') AS "at", epoch(at_utc) AS utc, day::VARCHAR AS day, n, note, tags, meta
         FROM ${resolved.sql} ORDER BY id`,
      );
      expect(rows).toEqual([
        {
          id: 1,
          city: 'Köln',
          fare: 12.5,
          ok: true,
          at: '2001-01-01 00:01:00.000',
          utc: 978307200,
          day: '2001-01-01',
          n: 3,
          note: '',
          tags: '{a,b}',
          meta: '{"k": 1}',
        },
        {
          id: 2,
          city: 'a, "quoted"\ncity',
          fare: null,
          ok: false,
          at: '2001-01-02 10:30:00.500',
          utc: null,
          day: null,
          n: null,
          note: null,
          tags: null,
          meta: null,
        },
      ]);
    });
  });

  it('streams a large result, and the same rows give the same checksum', async () => {
    const spec = parseSourceSpec({ postgres: { query: 'SELECT * FROM events ORDER BY id', url: 'EVENTS_URL' } });
    await withDuck(async (duck) => {
      const a = await resolveSource(duck, { store }, spec, { tmpDir: await mkdtemp(join(tmp, 'a-')), env: { EVENTS_URL: url } });
      const b = await resolveSource(duck, { store }, spec, { tmpDir: await mkdtemp(join(tmp, 'b-')), env: { EVENTS_URL: url } });
      expect(await duck.all(`SELECT count(*)::BIGINT AS n, sum(bucket)::BIGINT AS s, max(name) AS m FROM ${a.sql}`)).toEqual([
        { n: 200000, s: 599997, m: 'e99999' },
      ]);
      expect(a.files[0]!.sha256).toBe(b.files[0]!.sha256);
    });
  }, 120_000);

  it("fails with the server's message for a bad query, and never prints the connection string", async () => {
    const spec = parseSourceSpec({ postgres: { query: 'SELECT nope FROM trips', url: 'TRIPS_URL' } });
    await withDuck(async (duck) => {
      const err = await resolveSource(duck, { store }, spec, { tmpDir: tmp, env: { TRIPS_URL: url } }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/column "nope" does not exist/);
      expect((err as Error).message).not.toContain(url);
    });
  });
});
