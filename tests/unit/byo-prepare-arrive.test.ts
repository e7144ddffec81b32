// `flywheel data arrive <partition> --spec`: any model's data.source is cut into the lake by its
// data.partition and published; a partition the source lacks names some it has; the events
// endpoint accepts any partition name the CLI does.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { InvalidPartitionError } from '../../lib/data/errors.ts';
import { arriveSourcePartition, listSourcePartitions, type SourcePartitioning } from '../../lib/data/lake.ts';
import { SourceSpecError } from '../../lib/data/source-spec.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { dataArrivedBodySchema } from '../../serving/http/schemas.ts';
import { byoCsv } from './helpers/byo-prepare-table.ts';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-arrive-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(dir, 'store')).toString());
  await writeFile(join(dir, 'rows.csv'), byoCsv());
  const spec: SourcePartitioning = {
    dataset: 'byo',
    source: { uri: pathToFileURL(join(dir, 'rows.csv')).toString() },
    partition: { by: 'month' },
    time: 'when',
  };
  return { store, spec };
}

describe('data arrive from a model spec', () => {
  it('lists the partitions, cuts one into the lake and publishes it once', async () => {
    const { store, spec } = await setup();
    await withDuck(async (duck) => {
      expect(await listSourcePartitions(duck, { store }, spec)).toEqual([
        { name: '2012-01', value: '2012-01', rows: 31 },
        { name: '2012-02', value: '2012-02', rows: 9 },
      ]);
      const first = await arriveSourcePartition(duck, { store }, spec, '2012-02');
      expect(first.isNew).toBe(true);
      expect(first.rows).toBe(9);
      expect(first.event).toMatchObject({ dataset: 'byo', partition: '2012-02' });
      expect(first.event.uris).toEqual([store.uriFor('raw/byo/month=2012-02/part-0000.parquet')]);
      const again = await arriveSourcePartition(duck, { store }, spec, '2012-02');
      expect(again.isNew).toBe(false);
      expect(again.event.eventId).toBe(first.event.eventId);
    });
  });

  it('refuses a partition the source does not hold, naming some it does', async () => {
    const { store, spec } = await setup();
    await withDuck(async (duck) => {
      const err = await arriveSourcePartition(duck, { store }, spec, '2013-05').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidPartitionError);
      expect((err as Error).message).toBe('the data has no partition 2013-05 (available: 2012-01, 2012-02)');
      await expect(arriveSourcePartition(duck, { store }, spec, 'May')).rejects.toThrow(/is not a month/);
    });
  });

  it('partitions by any column value, and needs a source and a partitioning', async () => {
    const { store, spec } = await setup();
    await withDuck(async (duck) => {
      const byCity = { ...spec, partition: { column: 'city' } };
      expect((await listSourcePartitions(duck, { store }, byCity)).map((p) => p.name)).toEqual(['Oslo', 'Rome']);
      expect((await arriveSourcePartition(duck, { store }, byCity, 'Oslo')).rows).toBe(14);
      await expect(listSourcePartitions(duck, { store }, { dataset: 'byo' })).rejects.toThrow(SourceSpecError);
      const { partition: _, ...unpartitioned } = spec;
      await expect(listSourcePartitions(duck, { store }, unpartitioned)).rejects.toThrow(/has no data.partition/);
    });
  });

  it('the events endpoint accepts any safe partition name', () => {
    const body = (partition: string) => ({ dataset: 'byo', partition, uris: ['file:///tmp/x.parquet'] });
    for (const ok of ['2001-03', '2001-W09', '2001-03-04', 'Seattle', 'a=b c'])
      expect(dataArrivedBodySchema.safeParse(body(ok)).success).toBe(true);
    expect(dataArrivedBodySchema.safeParse(body('')).success).toBe(false);
    for (const bad of ['..', 'a/b', 'x\u0001']) {
      const r = dataArrivedBodySchema.safeParse(body(bad));
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.message).toMatch(/partition .* a partition name is one path segment/);
    }
  });
});
