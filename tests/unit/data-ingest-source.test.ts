// Ingest from a source spec: a glob is the same dataset version as the list of files it matches,
// CSV options are applied and are part of the version, and bad rows still fail with a report.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { DataValidationError } from '../../lib/data/errors.ts';
import { vegaDatasetsDataDir } from '../../lib/data/flights.ts';
import { ingestDataset, ingestSource } from '../../lib/data/ingest.ts';
import { loadDataset, profileDatasetVersion, validateDatasetVersion } from '../../lib/data/prepare.ts';
import { parseSourceSpec } from '../../lib/data/source-spec.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-ingest-source-'));
  const store = await LocalArtifactStore.create(pathToFileURL(join(dir, 'store')).toString());
  await mkdir(join(dir, 'in', 'day=2001-01-02'), { recursive: true });
  await mkdir(join(dir, 'in', 'day=2001-01-01'), { recursive: true });
  await writeFile(join(dir, 'in', 'day=2001-01-01', 'a.csv'), 'when;temp\n01/01/2001;1,5\n');
  await writeFile(join(dir, 'in', 'day=2001-01-02', 'a.csv'), 'when;temp\n02/01/2001;NA\n');
  return { dir, store, base: pathToFileURL(join(dir, 'in')).toString() };
}

describe('ingestSource', () => {
  it('ingests a glob as the same version as the list of its files', async () => {
    const { store, base, dir } = await setup();
    await writeFile(join(dir, 'in', 'x.csv'), 'a,b\n1,2\n');
    await writeFile(join(dir, 'in', 'y.csv'), 'a,b\n3,4\n');
    await withDuck(async (duck) => {
      const fromGlob = await ingestSource(duck, { store }, { dataset: 'xy', source: parseSourceSpec({ uri: `${base}/?.csv` }) });
      const fromList = await ingestDataset(duck, { store }, { dataset: 'xy', sourceUris: [`${base}/y.csv`, `${base}/x.csv`] });
      expect(fromGlob.datasetVersion).toBe(fromList.datasetVersion);
      expect(fromGlob.rows).toBe(2);
      expect(fromGlob.sources.map((s) => s.uri)).toEqual([`${base}/x.csv`, `${base}/y.csv`]);
    });
  });

  it('applies CSV options, and the options are part of the version', async () => {
    const { store, base } = await setup();
    const source = parseSourceSpec({
      uri: `${base}/`,
      format: 'csv',
      csv: { delimiter: ';', nullstr: 'NA', dateFormat: '%d/%m/%Y', decimalSeparator: ',' },
    });
    await withDuck(async (duck) => {
      const m = await ingestSource(duck, { store }, { dataset: 'temps', source });
      expect(m.rows).toBe(2);
      expect(m.columns).toEqual([
        { name: 'when', type: 'DATE' },
        { name: 'temp', type: 'DOUBLE' },
      ]);
      expect(
        await duck.all(`SELECT strftime("when", '%Y-%m-%d') AS d, temp FROM read_parquet('${fileURLToPath(m.dataUri)}') ORDER BY 1`),
      ).toEqual([
        { d: '2001-01-01', temp: 1.5 },
        { d: '2001-01-02', temp: null },
      ]);
      const other = await ingestSource(
        duck,
        { store },
        { dataset: 'temps', source: { ...source, csv: { ...source.csv!, nullstr: ['NA', '-'] } } },
      );
      expect(other.datasetVersion).not.toBe(m.datasetVersion);
      const again = await ingestSource(duck, { store }, { dataset: 'temps', source });
      expect(again).toEqual(m);
    });
  });

  it('still rejects a file that does not parse with its dialect, with a report naming the line', async () => {
    const { store, base, dir } = await setup();
    await writeFile(join(dir, 'in', 'day=2001-01-02', 'b.csv'), 'when;temp\n03/01/2001;2\n04/01/2001;3;4\n05/01/2001;5\n');
    const source = parseSourceSpec({ uri: `${base}/day=2001-01-02/b.csv`, csv: { delimiter: ';', dateFormat: '%d/%m/%Y' } });
    await withDuck(async (duck) => {
      const err = await ingestSource(duck, { store }, { dataset: 'temps', source }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DataValidationError);
      const problem = (err as DataValidationError).report.problems[0]!;
      expect(problem.rule).toBe('unreadable');
      expect(problem.message).toContain(`cannot read ${base}/day=2001-01-02/b.csv`);
      expect(problem.message).toContain('not a well-formed CSV (separated by ";", quoted by "\\"", with a header row)');
    });
  });
});

describe('a dataset other than flights through the prepare steps', () => {
  it('ingests Seattle weather from a source spec, validates it and profiles it with its time column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-ingest-weather-'));
    const store = await LocalArtifactStore.create(pathToFileURL(join(dir, 'store')).toString());
    const source = parseSourceSpec({ uri: pathToFileURL(join(vegaDatasetsDataDir(), 'seattle-weather.csv')).toString(), time: 'date' });
    await withDuck(async (duck) => {
      const manifest = await ingestSource(duck, { store }, { dataset: 'seattle-weather', source });
      expect(manifest.rows).toBe(1461);
      await loadDataset(duck, { store }, manifest);
      const spec = parseValidationSpec({
        dataset: 'seattle-weather',
        rowCount: { min: 1000 },
        columns: { date: { type: 'timestamp', nullable: false }, weather: { type: 'string', nullable: false } },
      });
      const { report } = await validateDatasetVersion(duck, store, manifest, spec, undefined);
      expect(report.passed).toBe(true);
      const { profile } = await profileDatasetVersion(duck, store, manifest, undefined, undefined, {
        time: source.time!,
        exclude: ['wind'],
      });
      expect(Object.keys(profile.features)).toEqual(['date.day_of_week', 'date.month', 'precipitation', 'temp_max', 'temp_min', 'weather']);
      // Without the time column, as before: the date as epoch seconds, every column.
      const plain = await profileDatasetVersion(duck, store, manifest, undefined);
      expect(Object.keys(plain.profile.features)).toEqual(['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
    });
  });
});
