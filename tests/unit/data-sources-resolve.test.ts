// Resolving a source spec to files: globs and prefixes on real files in a temporary folder, CSV
// dialects through DuckDB, an empty match that names the pattern, and s3:// listing through the
// artifact-store interface (a local folder behind an s3:// base URI; the real S3 server is in
// tests/integration/data-sources.test.ts).
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { SourceNotFoundError } from '../../lib/data/errors.ts';
import { expandSourceUri, globToRegExp, isMultiFileUri, resolveSource } from '../../lib/data/resolve.ts';
import { parseSourceSpec } from '../../lib/data/source-spec.ts';
import { readSql, type SourceContext } from '../../lib/data/sources.ts';
import { LocalArtifactStore, type ArtifactStore, type ObjectInfo } from '../../lib/storage/index.ts';

let dir: string;
let base: string;
let ctx: SourceContext;

async function file(rel: string, body: string): Promise<void> {
  await mkdir(join(dir, rel, '..'), { recursive: true });
  await writeFile(join(dir, rel), body);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-resolve-'));
  base = pathToFileURL(dir).toString();
  ctx = { store: await LocalArtifactStore.create(pathToFileURL(join(dir, '.store')).toString()) };
  await file('lake/day=2001-01-01/a.csv', 'x,y\n1,a\n2,b\n');
  await file('lake/day=2001-01-02/a.csv', 'x,y\n3,c\n');
  await file('lake/day=2001-01-02/b.csv', 'x,y\n4,d\n');
  await file('lake/day=2001-01-02/_SUCCESS', '');
  await file('lake/day=2001-01-02/.hidden.csv', 'x,y\n9,z\n');
  await file('lake/notes.txt.bak', 'not data');
  await file('mixed/a.csv', 'x\n1\n');
  await file('mixed/b.parquet', 'PAR1');
  await file('empty/readme.md', '# nothing here');
  await file(
    'euro/w1.txt',
    '# exported by a spreadsheet\ndate;temp;station\n03/01/2001;1,5;Köln\n04/01/2001;NA;NA\n05/01/2001;-2,25;"Bonn; Rhein"\n',
  );
});

describe('globs', () => {
  it('match names within a folder (*, ?) and across folders (**)', () => {
    expect(globToRegExp('*.csv').test('a.csv')).toBe(true);
    expect(globToRegExp('*.csv').test('d/a.csv')).toBe(false);
    expect(globToRegExp('part-?.csv').test('part-1.csv')).toBe(true);
    expect(globToRegExp('part-?.csv').test('part-12.csv')).toBe(false);
    expect(globToRegExp('**/*.csv').test('a.csv')).toBe(true);
    expect(globToRegExp('**/*.csv').test('x/y/a.csv')).toBe(true);
    expect(globToRegExp('lake/**').test('lake/x/y.csv')).toBe(true);
    expect(globToRegExp('a+b(1).csv').test('a+b(1).csv')).toBe(true);
    expect(isMultiFileUri('s3://b/raw/')).toBe(true);
    expect(isMultiFileUri('file:///a/*.csv')).toBe(true);
    expect(isMultiFileUri('file:///a/b.csv')).toBe(false);
  });

  it('expand to the sorted files on file://, skipping hidden and _ names', async () => {
    expect(await expandSourceUri(ctx, `${base}/lake/day=*/*.csv`)).toEqual([
      `${base}/lake/day=2001-01-01/a.csv`,
      `${base}/lake/day=2001-01-02/a.csv`,
      `${base}/lake/day=2001-01-02/b.csv`,
    ]);
    expect(await expandSourceUri(ctx, `${base}/lake/day=2001-01-0?/b.csv`)).toEqual([`${base}/lake/day=2001-01-02/b.csv`]);
    expect(await expandSourceUri(ctx, `${base}/**/a.csv`)).toEqual([
      `${base}/lake/day=2001-01-01/a.csv`,
      `${base}/lake/day=2001-01-02/a.csv`,
      `${base}/mixed/a.csv`,
    ]);
    // One file stays itself, matched or not (materializing it says whether it exists).
    expect(await expandSourceUri(ctx, `${base}/lake/x.csv`)).toEqual([`${base}/lake/x.csv`]);
  });

  it('a prefix takes the data files below it, by extension', async () => {
    expect(await expandSourceUri(ctx, `${base}/lake/`)).toEqual([
      `${base}/lake/day=2001-01-01/a.csv`,
      `${base}/lake/day=2001-01-02/a.csv`,
      `${base}/lake/day=2001-01-02/b.csv`,
    ]);
    expect(await expandSourceUri(ctx, `${base}/mixed/`, 'parquet')).toEqual([`${base}/mixed/b.parquet`]);
  });

  it('an empty match is an error naming the pattern', async () => {
    const err = await expandSourceUri(ctx, `${base}/lake/day=2002-*/*.csv`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceNotFoundError);
    expect((err as SourceNotFoundError).message).toBe(`no files match ${base}/lake/day=2002-*/*.csv`);
    expect((err as SourceNotFoundError).pattern).toBe(`${base}/lake/day=2002-*/*.csv`);
    await expect(expandSourceUri(ctx, `${base}/empty/`)).rejects.toThrow(`no Parquet or CSV files under ${base}/empty/`);
    await expect(expandSourceUri(ctx, `${base}/nowhere/`, 'csv')).rejects.toThrow(`no csv files under ${base}/nowhere/`);
  });
});

describe('resolveSource', () => {
  it('reads every matched CSV file as one table, each with its checksum', async () => {
    await withDuck(async (duck) => {
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-resolve-tmp-'));
      const resolved = await resolveSource(duck, ctx, parseSourceSpec({ uri: `${base}/lake/**/*.csv` }), { tmpDir: tmp });
      expect(resolved.format).toBe('csv');
      expect(resolved.files.map((f) => f.sha256)).toEqual(
        await Promise.all(
          resolved.files.map(async (f) =>
            createHash('sha256')
              .update(await readFile(f.path))
              .digest('hex'),
          ),
        ),
      );
      // No options: exactly today's strict RFC 4180 reader.
      expect(resolved.sql).toBe(readSql(resolved.files));
      expect(await duck.all(`SELECT x, y FROM ${resolved.sql} ORDER BY x`)).toEqual([
        { x: 1, y: 'a' },
        { x: 2, y: 'b' },
        { x: 3, y: 'c' },
        { x: 4, y: 'd' },
      ]);
    });
  });

  it('applies the CSV options: delimiter, skipped lines, null strings, date format, decimal comma', async () => {
    await withDuck(async (duck) => {
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-resolve-tmp-'));
      const spec = parseSourceSpec({
        uri: `${base}/euro/*.txt`,
        format: 'csv',
        csv: { delimiter: ';', skip: 1, nullstr: 'NA', dateFormat: '%d/%m/%Y', decimalSeparator: ',' },
      });
      const resolved = await resolveSource(duck, ctx, spec, { tmpDir: tmp });
      expect(await duck.all(`SELECT column_name AS c, column_type AS t FROM (DESCRIBE SELECT * FROM ${resolved.sql})`)).toEqual([
        { c: 'date', t: 'DATE' },
        { c: 'temp', t: 'DOUBLE' },
        { c: 'station', t: 'VARCHAR' },
      ]);
      const rows = await duck.all<{ d: string; temp: number | null; station: string | null }>(
        `SELECT strftime(date, '%Y-%m-%d') AS d, temp, station FROM ${resolved.sql} ORDER BY date`,
      );
      expect(rows).toEqual([
        { d: '2001-01-03', temp: 1.5, station: 'Köln' },
        { d: '2001-01-04', temp: null, station: null },
        { d: '2001-01-05', temp: -2.25, station: 'Bonn; Rhein' },
      ]);
    });
  });

  it('refuses a pattern that matches both formats, naming an example of each', async () => {
    await withDuck(async (duck) => {
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-resolve-tmp-'));
      await expect(resolveSource(duck, ctx, { uri: `${base}/mixed/*` }, { tmpDir: tmp })).rejects.toThrow(
        `${base}/mixed/* matches both CSV and Parquet files (e.g. ${base}/mixed/a.csv and ${base}/mixed/b.parquet); narrow the pattern or set format`,
      );
    });
  });
});

/** The store interface over s3:// URIs, kept in a local folder: what resolution sees of a bucket. */
function s3Shaped(local: LocalArtifactStore, baseUri: string): ArtifactStore {
  const rebase = (info: ObjectInfo): ObjectInfo => ({ ...info, uri: `${baseUri}/${info.key}` });
  return {
    baseUri,
    uriFor: (key) => `${baseUri}/${key}`,
    keyFor: (uri) => uri.slice(baseUri.length + 1),
    put: async (key, body, o) => rebase(await local.put(key, body, o)),
    putStream: async (key, body, o) => rebase(await local.putStream(key, body, o)),
    putOnce: async (key, body, o) => rebase(await local.putOnce(key, body, o)),
    get: (key, o) => local.get(key, o),
    getStream: (key, o) => local.getStream(key, o),
    stat: async (key) => {
      const info = await local.stat(key);
      return info && rebase(info);
    },
    exists: (key) => local.exists(key),
    list: async function* (prefix) {
      for await (const info of local.list(prefix)) yield rebase(info);
    },
    delete: (key) => local.delete(key),
  };
}

describe('s3:// sources', () => {
  let s3ctx: SourceContext;
  const bucket = 's3://lake/tenant';

  beforeAll(async () => {
    const local = await LocalArtifactStore.create(pathToFileURL(join(dir, 's3-bucket')).toString());
    s3ctx = { store: s3Shaped(local, bucket) };
    await s3ctx.store.put('raw/weather/day=2001-01-01/part-0000.csv', 'x,y\n1,a\n');
    await s3ctx.store.put('raw/weather/day=2001-01-02/part-0000.csv', 'x,y\n2,b\n');
    await s3ctx.store.put('raw/weather/day=2001-01-02/_SUCCESS', '');
    await s3ctx.store.put('raw/weatherstation/day=2001-01-01/part-0000.csv', 'x,y\n7,q\n');
  });

  it('lists the bucket prefix for a glob and a prefix, sorted, skipping hidden names', async () => {
    expect(await expandSourceUri(s3ctx, `${bucket}/raw/weather/day=*/part-*.csv`)).toEqual([
      `${bucket}/raw/weather/day=2001-01-01/part-0000.csv`,
      `${bucket}/raw/weather/day=2001-01-02/part-0000.csv`,
    ]);
    expect(await expandSourceUri(s3ctx, `${bucket}/raw/weather/`)).toEqual([
      `${bucket}/raw/weather/day=2001-01-01/part-0000.csv`,
      `${bucket}/raw/weather/day=2001-01-02/part-0000.csv`,
    ]);
    expect(await expandSourceUri(s3ctx, `${bucket}/raw/**/part-0000.csv`)).toHaveLength(3);
    await expect(expandSourceUri(s3ctx, `${bucket}/raw/rain/`)).rejects.toThrow(`no Parquet or CSV files under ${bucket}/raw/rain/`);
  });

  it('downloads each object with the checksum the store recorded', async () => {
    await withDuck(async (duck) => {
      const tmp = await mkdtemp(join(tmpdir(), 'flywheel-resolve-tmp-'));
      const resolved = await resolveSource(duck, s3ctx, { uri: `${bucket}/raw/weather/` }, { tmpDir: tmp });
      expect(resolved.files.map((f) => f.sha256)).toEqual([
        createHash('sha256').update('x,y\n1,a\n').digest('hex'),
        createHash('sha256').update('x,y\n2,b\n').digest('hex'),
      ]);
      expect(resolved.files.every((f) => f.path.startsWith(tmp))).toBe(true);
      expect(await duck.all(`SELECT x FROM ${resolved.sql} ORDER BY x`)).toEqual([{ x: 1 }, { x: 2 }]);
    });
  });
});
