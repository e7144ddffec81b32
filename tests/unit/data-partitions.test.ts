// Partitions for any partitioning: names users type are checked, column values become safe path
// segments, a table splits into one Parquet file per partition, and the flights months come out
// under the same keys (and bytes) as `data seed` writes them today.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath, flightsPartitionKey } from '../../lib/data/flights.ts';
import { arrivalKey, flightsMonths, publishPartitionArrival, seedFlights } from '../../lib/data/lake.ts';
import {
  assertPartitionName,
  escapePartitionValue,
  InvalidPartitionError,
  listPartitions,
  partitionObjectKey,
  unescapePartitionValue,
  writePartitions,
} from '../../lib/data/partitions.ts';
import { ArtifactNotFoundError, LocalArtifactStore } from '../../lib/storage/index.ts';

async function tempStore(): Promise<LocalArtifactStore> {
  return LocalArtifactStore.create(pathToFileURL(await mkdtemp(join(tmpdir(), 'flywheel-partitions-test-'))).toString());
}

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidPartitionError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('partition names', () => {
  it('accept the calendar forms: a day, an ISO week, a month', () => {
    for (const [by, name] of [
      ['day', '2001-03-04'],
      ['day', '2000-02-29'],
      ['week', '2001-W09'],
      ['week', '2004-W53'],
      ['month', '2001-03'],
      ['value', 'Seattle'],
      ['value', 'N%2FA'],
      ['value', 'São Paulo, BR'],
    ] as const) {
      expect(() => assertPartitionName(by, name), `${by} ${name}`).not.toThrow();
    }
  });

  it('refuse what is not one, saying why', () => {
    expect(refusal(() => assertPartitionName('month', '2001-13'))).toBe('partition "2001-13" is not a month (like 2001-03)');
    expect(refusal(() => assertPartitionName('month', '2001-3'))).toBe('partition "2001-3" is not a month (like 2001-03)');
    expect(refusal(() => assertPartitionName('day', '2001-02-29'))).toBe('partition "2001-02-29" is not a calendar day');
    expect(refusal(() => assertPartitionName('day', '2001-03'))).toBe('partition "2001-03" is not a day (like 2001-03-04)');
    expect(refusal(() => assertPartitionName('week', '2001-09'))).toBe('partition "2001-09" is not a week (ISO week like 2001-W09)');
    expect(refusal(() => assertPartitionName('week', '2001-W53'))).toBe('partition "2001-W53": 2001 has 52 ISO weeks');
    expect(refusal(() => assertPartitionName('week', '2001-W00'))).toContain('is not a week');
  });

  it('refuse anything that is not one safe path segment', () => {
    expect(refusal(() => assertPartitionName('value', 'a/b'))).toBe('partition "a/b" contains "/"; a partition name is one path segment');
    expect(refusal(() => assertPartitionName('value', '..'))).toBe('partition ".." is "." or ".."; a partition name is one path segment');
    expect(refusal(() => assertPartitionName('value', '.'))).toContain('is "." or ".."');
    expect(refusal(() => assertPartitionName('value', ''))).toContain('is empty');
    expect(refusal(() => assertPartitionName('value', 'a\\b'))).toContain('contains "\\"');
    expect(refusal(() => assertPartitionName('value', 'a\nb'))).toBe(
      'partition "a\\nb" contains a control character; a partition name is one path segment',
    );
    expect(refusal(() => assertPartitionName('value', 'x'.repeat(201)))).toContain('is longer than 200 bytes');
    expect(refusal(() => assertPartitionName('month', '../2001-03'))).toContain('contains "/"');
  });

  it('escape column values into names and back, keeping distinct values distinct', () => {
    const values = ['a/b', '..', '.', 'x%2Fy', 'tab\there', 'back\\slash', 'plain', 'k=v', '.hidden', '…'];
    const names = values.map(escapePartitionValue);
    expect(names).toEqual(['a%2Fb', '%2E%2E', '%2E', 'x%252Fy', 'tab%09here', 'back%5Cslash', 'plain', 'k=v', '.hidden', '…']);
    for (const name of names) expect(() => assertPartitionName('value', name)).not.toThrow();
    expect(names.map(unescapePartitionValue)).toEqual(values);
    expect(new Set(names).size).toBe(values.length);
  });

  it('build lake keys for every partitioning; flights months as today', () => {
    expect(partitionObjectKey('flights', { by: 'month', column: 'date' }, '2001-03')).toBe(flightsPartitionKey('2001-03'));
    expect(partitionObjectKey('weather', { by: 'day', column: 'date' }, '2012-01-01')).toBe('raw/weather/day=2012-01-01/part-0000.parquet');
    expect(partitionObjectKey('weather', { by: 'week', column: 'date' }, '2012-W01')).toBe('raw/weather/week=2012-W01/part-0000.parquet');
    expect(partitionObjectKey('penguins', { by: 'value', column: 'Island' }, 'Biscoe')).toBe(
      'raw/penguins/Island=Biscoe/part-0000.parquet',
    );
    expect(partitionObjectKey('t', { by: 'value', column: 'a/b=c' }, 'x')).toBe('raw/t/a%2Fb%3Dc=x/part-0000.parquet');
    expect(refusal(() => partitionObjectKey('flights', { by: 'month', column: 'date' }, '2001-3'))).toContain('is not a month');
    expect(refusal(() => partitionObjectKey('../x', { by: 'month', column: 'date' }, '2001-03'))).toBe(
      'dataset "../x" contains "/"; a dataset name is one path segment',
    );
  });
});

describe('splitting a table', () => {
  const rows = `(SELECT * FROM (VALUES
      (TIMESTAMP '2004-12-31 23:00:00', 'a/b', 1), (TIMESTAMP '2005-01-01 01:00:00', '..', 2),
      (TIMESTAMP '2005-01-03 00:00:00', 'Köln', 3), (TIMESTAMP '2005-02-01 12:00:00', 'Köln', 4)) AS t(ts, city, n))`;

  it('groups rows by day, ISO week, month or value', async () => {
    await withDuck(async (duck) => {
      const names = async (p: Parameters<typeof listPartitions>[2]) =>
        (await listPartitions(duck, rows, p)).map((x) => `${x.name}:${x.rows}`);
      expect(await names({ by: 'day', column: 'ts' })).toEqual(['2004-12-31:1', '2005-01-01:1', '2005-01-03:1', '2005-02-01:1']);
      // 2005-01-01 is a Saturday in ISO week 53 of 2004.
      expect(await names({ by: 'week', column: 'ts' })).toEqual(['2004-W53:2', '2005-W01:1', '2005-W05:1']);
      expect(await names({ by: 'month', column: 'ts' })).toEqual(['2004-12:1', '2005-01:2', '2005-02:1']);
      expect(await names({ by: 'value', column: 'city' })).toEqual(['%2E%2E:1', 'Köln:2', 'a%2Fb:1']);
      expect(await names({ by: 'value', column: 'n' })).toEqual(['1:1', '2:1', '3:1', '4:1']);
    });
  });

  it('refuses a missing column, a time partitioning of text, and rows without a value', async () => {
    await withDuck(async (duck) => {
      await expect(listPartitions(duck, rows, { by: 'month', column: 'when' })).rejects.toThrow(
        'partition column when is not in the data (columns: ts, city, n)',
      );
      await expect(listPartitions(duck, rows, { by: 'week', column: 'city' })).rejects.toThrow(
        'partition by week needs a DATE or TIMESTAMP column; city is VARCHAR',
      );
      await expect(
        listPartitions(duck, `(SELECT NULLIF(city, 'Köln') AS city FROM ${rows})`, { by: 'value', column: 'city' }),
      ).rejects.toThrow('2 rows have no value in partition column city; every row needs one');
    });
  });

  it('writes each partition once, under its escaped name', async () => {
    const store = await tempStore();
    await withDuck(async (duck) => {
      const first = await writePartitions(duck, store, { dataset: 'cities', from: rows, partitioning: { by: 'value', column: 'city' } });
      expect(first.map((p) => [p.key, p.rows, p.written])).toEqual([
        ['raw/cities/city=%2E%2E/part-0000.parquet', 1, true],
        ['raw/cities/city=Köln/part-0000.parquet', 2, true],
        ['raw/cities/city=a%2Fb/part-0000.parquet', 1, true],
      ]);
      const koeln = await duck.all(`SELECT n FROM read_parquet('${fileURLToPath(first[1]!.uri)}') ORDER BY n`);
      expect(koeln).toEqual([{ n: 3 }, { n: 4 }]);
      const again = await writePartitions(duck, store, {
        dataset: 'cities',
        from: rows,
        partitioning: { by: 'value', column: 'city' },
        only: ['Köln'],
      });
      expect(again.map((p) => [p.name, p.written])).toEqual([['Köln', false]]);
      await expect(
        writePartitions(duck, store, { dataset: 'cities', from: rows, partitioning: { by: 'value', column: 'city' }, only: ['Bonn'] }),
      ).rejects.toThrow('the data has no partition Bonn (available: %2E%2E, Köln, a%2Fb)');
    });
  });

  it('gives the flights months the keys and bytes `data seed` gives them', async () => {
    const from = `read_parquet('${flightsParquetPath()}')`;
    await withDuck(async (duck) => {
      const months = await listPartitions(duck, from, { by: 'month', column: 'date' });
      expect(months.map(({ name, rows }) => ({ month: name, rows }))).toEqual(await flightsMonths(duck));
      expect(months.map((m) => partitionObjectKey('flights', { by: 'month', column: 'date' }, m.name))).toEqual(
        (await flightsMonths(duck)).map((m) => flightsPartitionKey(m.month)),
      );

      const seeded = await tempStore();
      const split = await tempStore();
      const [seed] = await seedFlights(duck, seeded, ['2001-07']);
      const [part] = await writePartitions(duck, split, {
        dataset: 'flights',
        from,
        partitioning: { by: 'month', column: 'date' },
        only: ['2001-07'],
      });
      expect(part!.key).toBe(flightsPartitionKey('2001-07'));
      expect(part!.rows).toBe(seed!.rows);
      expect(await split.get(part!.key)).toEqual(await seeded.get(flightsPartitionKey('2001-07')));
    });
  }, 60_000);
});

describe('publishing a partition', () => {
  it('announces any partition once per content, keyed like the flights months', async () => {
    const store = await tempStore();
    const rows = `(SELECT * FROM (VALUES (DATE '2012-01-02', 1), (DATE '2012-01-03', 2)) AS t(day, n))`;
    await withDuck(async (duck) => {
      const [week] = await writePartitions(duck, store, { dataset: 'weather', from: rows, partitioning: { by: 'week', column: 'day' } });
      const first = await publishPartitionArrival(store, 'weather', week!.name, week!.key);
      const sha256 = (await store.stat(week!.key))!.sha256!;
      expect(first.isNew).toBe(true);
      expect(first.event).toEqual({
        type: 'data-arrived',
        dataset: 'weather',
        partition: '2012-W01',
        uris: [store.uriFor('raw/weather/week=2012-W01/part-0000.parquet')],
        sha256,
        eventId: `data-arrived/weather/2012-W01/${sha256.slice(0, 12)}`,
        publishedAt: first.event.publishedAt,
      });
      expect(await store.exists(arrivalKey('weather', '2012-W01'))).toBe(true);
      const second = await publishPartitionArrival(store, 'weather', week!.name, week!.key);
      expect(second).toEqual({ event: first.event, isNew: false });
      await expect(publishPartitionArrival(store, 'weather', '../x', week!.key)).rejects.toThrow('contains "/"');
      await expect(publishPartitionArrival(store, 'weather', '2012-W02', 'raw/weather/week=2012-W02/part-0000.parquet')).rejects.toThrow(
        ArtifactNotFoundError,
      );
    });
  });
});
