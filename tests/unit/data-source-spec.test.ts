// The dataset source spec as a user writes it: what it accepts, the defaults it fills in, and
// errors that name the field.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { withDuck } from '../../lib/data/duck.ts';
import { labelSql } from '../../lib/data/resolve.ts';
import { formatFor, loadSourceSpec, parseSourceSpec, partitioningOf, SourceSpecError } from '../../lib/data/source-spec.ts';
import { FLIGHTS_LABEL_SQL } from '../../examples/flights/legacy-encoder.ts';

function problem(value: unknown): string {
  try {
    parseSourceSpec(value);
  } catch (err) {
    expect(err).toBeInstanceOf(SourceSpecError);
    return (err as Error).message;
  }
  throw new Error('expected the spec to be refused');
}

describe('source spec', () => {
  it('reads the flights source: a glob of month partitions, a derived label, month partitions', () => {
    const spec = parseSourceSpec({
      uri: 's3://lake/raw/flights/month=*/part-*.parquet',
      label: { expression: 'delay > 15' },
      time: 'date',
      partition: { by: 'month' },
    });
    expect(spec).toEqual({
      uri: 's3://lake/raw/flights/month=*/part-*.parquet',
      label: { expression: 'delay > 15' },
      time: 'date',
      partition: { by: 'month' },
    });
    expect(partitioningOf(spec)).toEqual({ by: 'month', column: 'date' });
  });

  it('fills in CSV and PostgreSQL defaults', () => {
    const csv = parseSourceSpec({ uri: 'file:///data/weather/', format: 'csv', csv: { delimiter: ';', nullstr: ['NA', ''] } });
    expect(csv.csv).toEqual({ delimiter: ';', quote: '"', escape: '"', header: true, nullstr: ['NA', ''], skip: 0, decimalSeparator: '.' });
    const pg = parseSourceSpec({ postgres: { query: 'SELECT * FROM trips ORDER BY id' }, label: 'fare', partition: { column: 'city' } });
    expect(pg.postgres).toEqual({ query: 'SELECT * FROM trips ORDER BY id', url: 'DATABASE_URL' });
    expect(partitioningOf(pg)).toEqual({ by: 'value', column: 'city' });
    expect(partitioningOf(parseSourceSpec({ uri: 'file:///a.parquet' }))).toBeUndefined();
  });

  it('names the field of every problem', () => {
    expect(problem({ label: 'y' })).toBe('invalid source spec:\n  uri: a source has a uri (files) or a postgres query');
    expect(problem({ uri: 'https://example.com/a.csv' })).toContain('  uri: a uri starts with file:// or s3://');
    expect(problem({ uri: 'file:///a.csv', postgres: { query: 'SELECT 1' } })).toContain(
      '  postgres: a source has a uri or a postgres query, not both',
    );
    expect(problem({ uri: 'file:///a.parquet', csv: { delimiter: ';' } })).toContain('  csv: csv options need format: csv (or a .csv uri)');
    expect(problem({ uri: 'file:///a.csv', csv: { delimiter: ';', sep: ',' } })).toMatch(/ {2}csv: Unrecognized key: "sep"/);
    expect(problem({ uri: 'file:///a.csv', format: 'json' })).toMatch(/ {2}format: Invalid option/);
    expect(problem({ uri: 'file:///a.parquet', partition: { by: 'week' } })).toContain(
      '  partition.column: partition by week needs a time column: set partition.column or time',
    );
    expect(problem({ uri: 'file:///a.parquet', partition: { by: 'year', column: 'date' } })).toMatch(/partition/);
    expect(problem({ uri: 'file:///a.parquet', label: { expr: 'x > 1' } })).toMatch(/ {2}label/);
    expect(problem({ postgres: { query: '  ' } })).toContain('  postgres.query: a query is not empty');
    expect(problem({ postgres: { query: 'SELECT 1', url: 'postgres://u:secret@db/x' } })).toContain(
      '  postgres.url: url names the environment variable that holds the connection string, not the connection string itself',
    );
    expect(problem({ postgres: { query: 'SELECT 1', url: '1BAD' } })).toContain('  postgres.url: an environment variable name');
    expect(problem({ postgres: { query: 'SELECT 1' }, format: 'csv' })).toContain(
      '  format: format and csv apply to files, not to a postgres query',
    );
  });

  it('loads YAML and JSON files, and says which file is broken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-source-spec-'));
    await writeFile(join(dir, 'source.yaml'), 'uri: file:///data/*.csv\nlabel: weather\ntime: date\npartition: { by: week }\n');
    expect(await loadSourceSpec(join(dir, 'source.yaml'))).toMatchObject({ uri: 'file:///data/*.csv', partition: { by: 'week' } });
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ uri: 'file:///a.csv', time: '' }));
    await expect(loadSourceSpec(join(dir, 'bad.json'))).rejects.toThrow(
      `invalid ${join(dir, 'bad.json')}:\n  time: a column name is not empty`,
    );
    await expect(loadSourceSpec(join(dir, 'missing.yaml'))).rejects.toThrow(/^cannot read source spec .*missing\.yaml/);
  });

  it('chooses the format by extension unless the spec says', () => {
    expect(formatFor('file:///a/b.CSV')).toBe('csv');
    expect(formatFor('s3://b/x.csv.gz')).toBe('csv');
    expect(formatFor('s3://b/x.parquet')).toBe('parquet');
    expect(formatFor('s3://b/prefix/')).toBe('parquet');
    expect(formatFor('file:///a/b.tsv', 'csv')).toBe('csv');
  });

  it('a label expression gives the same labels as the flights label', async () => {
    await withDuck(async (duck) => {
      const [row] = await duck.all<{ a: number; b: number }>(
        `SELECT sum(${FLIGHTS_LABEL_SQL})::BIGINT AS a, sum(CAST(${labelSql({ expression: 'delay > 15' })} AS INTEGER))::BIGINT AS b
         FROM (SELECT unnest([-3, 0, 15, 16, 200, NULL]) AS delay)`,
      );
      expect(row).toEqual({ a: 2, b: 2 });
      expect(labelSql('Body Mass (g)')).toBe('"Body Mass (g)"');
    });
  });
});

describe('docs/data-sources.md', () => {
  it('parses every example in it', async () => {
    const doc = await readFile(new URL('../../docs/data-sources.md', import.meta.url), 'utf8');
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parseYaml(m[1]!) as unknown);
    expect(blocks).toHaveLength(3);
    const specs = blocks.map((b, i) => parseSourceSpec(b, `example ${i + 1}`));
    expect(specs[0]!.label).toEqual({ expression: 'delay > 15' });
    expect(partitioningOf(specs[0]!)).toEqual({ by: 'month', column: 'date' });
    expect(specs[1]!.csv).toMatchObject({ delimiter: ';', skip: 1, nullstr: ['NA', ''], dateFormat: '%d/%m/%Y', decimalSeparator: ',' });
    expect(specs[2]!.postgres?.url).toBe('TRIPS_DATABASE_URL');
  });
});
