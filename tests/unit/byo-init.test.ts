// `flywheel init` on tables of each task: generated CSVs (binary, multiclass, regression) and the
// two vega-datasets CSVs the examples use. Every file it writes parses with the project's own
// parsers, the feature spec fits on the data, the example instance reads as a predict request,
// and its mistakes say what is wrong (the missing label lists the columns).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { withDuck } from '../../lib/data/duck.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { batchFromInstances, fitFeatures, parseFeatureSpec } from '../../lib/features/tabular/index.ts';
import { OnboardingError } from '../../lib/onboarding/errors.ts';
import { nextCommands, proposeProject, writeProposal, type InitOptions, type InitProposal } from '../../lib/onboarding/init.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vega = (file: string) => join(root, 'node_modules/vega-datasets/data', file);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-init-'));
  const lines = (header: string, n: number, row: (i: number) => string) =>
    [header, ...Array.from({ length: n }, (_, i) => row(i))].join('\n') + '\n';
  const cities = ['Paris', 'Lyon', 'Nice'];
  await writeFile(
    join(dir, 'churn.csv'),
    lines('customer_id,signup,amount,city,premium,churned', 300, (i) => {
      const day = String((i % 28) + 1).padStart(2, '0');
      const month = String((i % 3) + 1).padStart(2, '0');
      const amount = i % 17 === 0 ? '' : ((i * 37) % 1000) / 10;
      return `${1000 + i},2024-${month}-${day} ${String(i % 24).padStart(2, '0')}:15:00,${amount},${cities[i % 3]},${i % 4 === 0},${i % 5 === 0 ? 1 : 0}`;
    }),
  );
  await writeFile(
    join(dir, 'flowers.csv'),
    lines('measured,petal,sepal,grade', 240, (i) => `2023-0${(i % 6) + 1}-1${i % 10},${(i % 13) * 0.3},${(i % 7) * 0.9},${(i % 3) + 1}`),
  );
  await writeFile(
    join(dir, 'houses.csv'),
    lines('id,time,rooms,area,price', 400, (i) => `h${i},morning,${(i % 6) + 1},${50 + ((i * 7) % 150)},${100000 + i * 1234.5}`),
  );
  await writeFile(
    join(dir, 'constant.csv'),
    lines('x,y', 30, (i) => `${i},same`),
  );
  await writeFile(
    join(dir, 'clicks.csv'),
    lines('url,score,clicked', 3000, (i) => `/page/${i % 1500},${(i % 11) / 2},${i % 3 === 0 ? '1.0' : '0.0'}`),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function propose(options: Omit<InitOptions, 'tmpDir'>): Promise<InitProposal> {
  const store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
  return withDuck((duck) => proposeProject(duck, { store }, { tmpDir: dir, cwd: dir, ...options }));
}

/** Writes the proposal, reads every file back with the project's parsers, fits the features on
 * the data and reads the example instance as a request. */
async function writeAndCheck(proposal: InitProposal, out: string) {
  const { spec } = await writeProposal(proposal, join(dir, out));
  const features = parseFeatureSpec(parseYaml(await readFile(join(dir, out, 'features.yaml'), 'utf8')));
  const validation = parseValidationSpec(parseYaml(await readFile(join(dir, out, 'validation.yaml'), 'utf8')));
  expect(spec.features).toEqual(features);
  expect(spec.data.validation).toEqual(validation);
  const path = fileURLToPath(proposal.sourceUri);
  await withDuck(async (duck) => {
    const fitted = await fitFeatures(duck, `read_csv('${path}')`, features);
    expect(fitted.rows).toBe(proposal.summary.rows);
  });
  expect(batchFromInstances(features, [proposal.exampleInstance])).toMatchObject({ ok: true });
  return { spec, features, validation };
}

describe('flywheel init: generated tables', () => {
  it('binary: a 0/1 label, a TIMESTAMP time column with hours, the ID column left out', async () => {
    const p = await propose({ data: 'churn.csv', label: 'churned' });
    expect(p.task.value).toBe('binary');
    expect(p.task.reason).toContain('two values');
    expect(p.time.value).toBe('signup');
    expect(p.firstPartition).toBe('2024-01');
    expect(p.features.leftOut).toEqual([expect.objectContaining({ column: 'customer_id', why: expect.stringContaining('an ID') })]);
    const { spec, features } = await writeAndCheck(p, 'churn');
    expect(spec.name).toBe('churn-churned');
    expect(spec.task).toBe('binary');
    expect(spec.data).toMatchObject({ dataset: 'churn', label: 'churned', time: 'signup', partition: { by: 'month' } });
    expect(spec.data.source?.uri).toBe(`file://${join(dir, 'churn.csv')}`);
    expect(spec.gates).toEqual({ minAuc: 0.6 });
    expect(spec.approval.mode).toBe('automatic');
    expect(features.features.map((f) => [f.name, f.kind])).toEqual([
      ['signup', 'datetime'],
      ['amount', 'numeric'],
      ['city', 'categorical'],
      ['premium', 'boolean'],
    ]);
    expect(features.features[0]).toMatchObject({ parts: [{ part: 'hour' }, { part: 'dayOfWeek' }, { part: 'month' }] });
    expect(features.features[1]).toMatchObject({ impute: 'median' }); // it has missing values
    expect(spec.data.validation.columns.customer_id).toMatchObject({ type: 'integer', required: false });
    expect(spec.data.validation.columns.amount).toMatchObject({ type: 'float', nullable: true, min: 0 });
    expect(spec.data.validation.columns.signup).toMatchObject({ type: 'timestamp', nullable: false });
    expect(p.files['features.yaml']).toMatch(/# Left out:\n#\s+customer_id: every row has its own value/);

    const commands = nextCommands(p, join(dir, 'churn'), dir);
    expect(commands).toHaveLength(5);
    expect(commands[1]).toBe('npx flywheel pipeline start churn/model.yaml');
    expect(commands[2]).toBe('npx flywheel data arrive --all --spec churn/model.yaml');
    expect(commands[3]).toBe('npx flywheel pipeline status churn-churned --follow');
    expect(commands[4]).toContain('http://127.0.0.1:8080/v1/models/churn-churned/predict');
    expect(commands[4]).toContain('"signup":"2024-01-01T00:15:00"');
    expect(commands[4]).not.toContain('churned"'); // never the label
  });

  it('multiclass: a numeric label with three values, a DATE time column (no hour)', async () => {
    const p = await propose({ data: 'flowers.csv', label: 'grade', name: 'flowers' });
    expect(p.task.value).toBe('multiclass');
    expect(p.task.reason).toContain('only 3 distinct values');
    expect(p.time.value).toBe('measured');
    const { spec, features } = await writeAndCheck(p, 'flowers');
    expect(spec.name).toBe('flowers');
    expect(Object.keys(spec.gates)).toEqual(['minMacroF1']);
    expect(features.features[0]).toMatchObject({ kind: 'datetime', parts: [{ part: 'dayOfWeek' }, { part: 'month' }] });
  });

  it('regression: many distinct numbers; a text column named time is not a time column; a text ID left out', async () => {
    const p = await propose({ data: join(dir, 'houses.csv'), label: 'price' });
    expect(p.task.value).toBe('regression');
    expect(p.time.value).toBeUndefined();
    expect(p.time.reason).toContain('time is VARCHAR');
    expect(p.firstPartition).toBeUndefined();
    expect(p.features.leftOut.map((c) => c.column)).toEqual(['id', 'time']); // an ID, and one value everywhere
    const { spec } = await writeAndCheck(p, 'houses');
    expect(spec.data.time).toBeUndefined();
    expect(spec.data.partition).toBeUndefined();
    expect(Object.keys(spec.gates)).toEqual(['maxRmse']);
    expect(nextCommands(p, join(dir, 'houses'), dir)[2]).toContain('<partition>');
  });

  it('Parquet and tab-separated files, as file:// URIs', async () => {
    await withDuck(async (duck) => {
      await duck.run(`COPY (SELECT * FROM read_csv('${join(dir, 'flowers.csv')}')) TO '${join(dir, 'flowers.parquet')}' (FORMAT parquet)`);
      await duck.run(
        `COPY (SELECT * FROM read_csv('${join(dir, 'houses.csv')}')) TO '${join(dir, 'houses.tsv')}' (HEADER, DELIMITER '\t')`,
      );
    });
    const parquet = await propose({ data: `file://${join(dir, 'flowers.parquet')}`, label: 'grade' });
    expect(parquet).toMatchObject({ dataset: 'flowers', task: { value: 'multiclass' }, time: { value: 'measured' } });
    expect(parquet.summary.columns.find((c) => c.name === 'measured')?.duckType).toBe('DATE');
    const tsv = await propose({ data: 'houses.tsv', label: 'price' });
    expect(tsv.summary.columns.map((c) => c.name)).toEqual(['id', 'time', 'rooms', 'area', 'price']);
    const { spec } = await writeProposal(tsv, join(dir, 'tsv'));
    expect(spec.data.source).toMatchObject({ format: 'csv', csv: { delimiter: '\t' } });
  });

  it('high-cardinality text is hashed; a DOUBLE 0.0/1.0 label is binary', async () => {
    const p = await propose({ data: 'clicks.csv', label: 'clicked' });
    expect(p.task.value).toBe('binary');
    expect(p.features.features[0]).toMatchObject({ column: 'url', entry: { kind: 'categorical', hash: { buckets: 512 } } });
    expect(p.features.features[0]!.why).toContain('1500 distinct values');
    await writeAndCheck(p, 'clicks');
  });

  it('a task given on the command line wins, and is checked against the label', async () => {
    const p = await propose({ data: 'flowers.csv', label: 'grade', task: 'regression' });
    expect(p.task).toEqual({ value: 'regression', reason: '--task regression as given' });
    await expect(propose({ data: 'flowers.csv', label: 'grade', task: 'binary' })).rejects.toThrow(
      /--task binary needs a label with the two values 0\/1 or true\/false; grade has 3/,
    );
  });
});

describe('flywheel init: the vega-datasets CSVs', () => {
  it('weather.csv: multiclass weather, date parts without the hour, both locations', async () => {
    const p = await propose({ data: vega('weather.csv'), label: 'weather' });
    expect(p.task.value).toBe('multiclass');
    expect(p.time.value).toBe('date');
    expect(p.firstPartition).toBe('2012-01');
    expect(p.features.features.map((f) => f.column)).toEqual(['location', 'date', 'precipitation', 'temp_max', 'temp_min', 'wind']);
    const { spec } = await writeAndCheck(p, 'weather');
    expect(spec).toMatchObject({ name: 'weather', task: 'multiclass', data: { dataset: 'weather', label: 'weather' } });
  });

  it('seattle-weather-hourly-normals.csv: regression temperature, hour parts', async () => {
    const p = await propose({ data: vega('seattle-weather-hourly-normals.csv'), label: 'temperature', name: 'seattle-temperature' });
    expect(p.task.value).toBe('regression');
    expect(p.time.value).toBe('date');
    expect(p.firstPartition).toBe('2010-01');
    const { spec, features } = await writeAndCheck(p, 'seattle');
    expect(features.features[0]).toMatchObject({ kind: 'datetime', parts: [{ part: 'hour' }, { part: 'dayOfWeek' }, { part: 'month' }] });
    expect((spec.gates as { maxRmse: number }).maxRmse).toBeGreaterThan(4);
  });
});

describe('flywheel init: mistakes', () => {
  it('a missing label column lists the columns', async () => {
    const err = await propose({ data: 'houses.csv', label: 'cost' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OnboardingError);
    expect((err as Error).message).toBe('label column "cost" is not in the data; its columns are: id, time, rooms, area, price');
  });

  it('a missing file, a label with one value, a bad name', async () => {
    await expect(propose({ data: 'nope.csv', label: 'y' })).rejects.toThrow(`no such file: ${join(dir, 'nope.csv')}`);
    await expect(propose({ data: 'constant.csv', label: 'y' })).rejects.toThrow(
      'label y has one value (same) in every row: there is nothing to predict',
    );
    await expect(propose({ data: 'houses.csv', label: 'price', name: 'Big Houses' })).rejects.toThrow(/--name "Big Houses"/);
  });

  it('refuses to overwrite without force', async () => {
    const p = await propose({ data: 'flowers.csv', label: 'grade' });
    await writeProposal(p, join(dir, 'twice'));
    await expect(writeProposal(p, join(dir, 'twice'))).rejects.toThrow(/already exist: pass --force/);
    await expect(writeProposal(p, join(dir, 'twice'), true)).resolves.toBeDefined();
  });

  it('the command: progress on stderr, the next commands on stdout, exit 2 with the columns listed', () => {
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [join(root, 'bin/flywheel.js'), 'init', ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: join(dir, 'fw') },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const ok = run('--data', 'flowers.csv', '--label', 'grade', '--out', 'cli');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('task: multiclass');
    expect(ok.stdout).toContain('npx flywheel pipeline start cli/model.yaml');
    expect(existsSync(join(dir, 'fw'))).toBe(false); // reading a local file touches no artifact store
    const bad = run('--data', 'flowers.csv', '--label', 'nope', '--out', 'cli2');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('error: label column "nope" is not in the data; its columns are: measured, petal, sepal, grade');
  }, 60_000);
});
