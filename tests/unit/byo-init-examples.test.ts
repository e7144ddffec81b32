// The two hand-written examples beside flights: examples/weather (multiclass) and
// examples/seattle-temperature (regression). Each spec loads with loadModelSpec, its features fit
// on its vega-datasets CSV, its validation rules pass on every month the README arrives, and the
// spec's relative source resolves to the bundled CSV. Training them is the integration test's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { validateTable } from '../../lib/data/validation/engine.ts';
import { fitFeatures } from '../../lib/features/tabular/index.ts';
import { loadModelSpec } from '../../lib/model-spec/model-spec.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const vega = (file: string) => join(root, 'node_modules/vega-datasets/data', file);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-byo-examples-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const EXAMPLES = [
  { example: 'weather', csv: 'weather.csv', name: 'weather', task: 'multiclass', months: 48 },
  {
    example: 'seattle-temperature',
    csv: 'seattle-weather-hourly-normals.csv',
    name: 'seattle-temperature',
    task: 'regression',
    months: 12,
  },
] as const;

describe.each(EXAMPLES)('examples/$example', ({ example, csv, name, task, months }) => {
  const specPath = join(root, 'examples', example, 'model.yaml');

  it('loads, fits on its CSV, and every month passes validation', async () => {
    const spec = await loadModelSpec(specPath);
    expect(spec).toMatchObject({ name, task, data: { label: expect.any(String), time: 'date', partition: { by: 'month' } } });
    await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE t AS SELECT * FROM read_csv('${vega(csv)}')`);
      const fitted = await fitFeatures(duck, 't', spec.features);
      expect(fitted.rows).toBeGreaterThan(2000);
      const whole = await validateTable(duck, { from: 't', spec: spec.data.validation, subject: csv });
      expect(whole.passed, whole.summary).toBe(true);
      const monthly = await duck.all<{ m: string }>(`SELECT DISTINCT strftime(date, '%Y-%m') AS m FROM t ORDER BY 1`);
      expect(monthly).toHaveLength(months);
      for (const { m } of monthly) {
        const report = await validateTable(duck, {
          from: `(SELECT * FROM t WHERE strftime(date, '%Y-%m') = '${m}')`,
          spec: spec.data.validation,
          subject: m,
        });
        expect(report.passed, `${m}: ${report.summary}`).toBe(true);
      }
    });
  });

  it('the spec names the bundled CSV by a path relative to itself, which resolves in this checkout', async () => {
    const spec = await loadModelSpec(specPath);
    expect(spec.data.source).toEqual({ uri: pathToFileURL(vega(csv)).href });
  });
});
