// Real traffic for the drift monitor's tests, profiled as prepare profiles a dataset version from
// its model's feature spec: flights (a training profile of January rows, more January rows as
// no-drift control requests, and a drifted copy), and any vega-datasets table split into a
// reference and held-out requests.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDuck, type Duck } from '../../../lib/data/duck.ts';
import { profileTable } from '../../../lib/data/profile.ts';
import type { DatasetProfile } from '../../../lib/data/profile-types.ts';
import { fitFeatures } from '../../../lib/features/tabular/fit.ts';
import { loadFeatureSpec, type FeatureSpec, type FeatureSpecInput } from '../../../lib/features/tabular/spec.ts';
import type { FittedFeatures } from '../../../lib/features/tabular/state.ts';
import { profileDefinitionsForFeatures } from '../../../lib/data/feature-profile.ts';
import { fitClasses, type Task } from '../../../lib/tasks/task.ts';

/** A file of the vega-datasets package's data folder (its `exports` map hides package.json, so
 * the folder is found from the resolved main entry, walking up to the package root). */
export function vegaData(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.resolve('vega-datasets')));
  for (let i = 0; i < 4; i++) {
    if (existsSync(join(dir, 'data', file))) return join(dir, 'data', file);
    dir = dirname(dir);
  }
  throw new Error(`vega-datasets has no data/${file}`);
}

/** A flights request as the server logs it. */
export interface FlightRequest {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

export const FLIGHTS_FEATURES_YAML = fileURLToPath(new URL('../../../examples/flights/features.yaml', import.meta.url));

/** The reference profile of `from` (which has a `__label` column) and the spec fitted on it, with
 * the task set as training sets it. */
async function referenceOf(
  duck: Duck,
  from: string,
  spec: FeatureSpec | FeatureSpecInput,
  task: Task['kind'],
  source: string,
): Promise<{ reference: DatasetProfile; fitted: FittedFeatures }> {
  const fitted = await fitFeatures(duck, from, spec, { fittedOn: source });
  const classes =
    task === 'multiclass' ? fitClasses((await duck.all<{ l: string }>(`SELECT DISTINCT __label AS l FROM ${from}`)).map((r) => r.l)) : [];
  const withTask: FittedFeatures = { ...fitted, task: task === 'multiclass' ? { kind: task, classes } : { kind: task } };
  const reference = await profileTable(duck, {
    from,
    source,
    features: profileDefinitionsForFeatures(fitted.spec, { label: '__label', task }),
  });
  return { reference, fitted: withTask };
}

/** January in a fixed shuffled order: the first `referenceRows` are the training profile (the
 * flights example's feature spec, label `delay > 15`), the next `controlRows` the control requests. */
export async function januaryTraffic(
  referenceRows: number,
  controlRows: number,
  source = 'fixture',
): Promise<{ reference: DatasetProfile; fitted: FittedFeatures; control: FlightRequest[] }> {
  const spec = await loadFeatureSpec(FLIGHTS_FEATURES_YAML);
  return withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE jan AS SELECT * FROM read_parquet('${vegaData('flights-3m.parquet')}') WHERE month(date) = 1
       ORDER BY hash(date, origin, destination, distance, delay) LIMIT ${referenceRows + controlRows}`,
    );
    await duck.run(`CREATE TABLE ref AS SELECT *, (delay > 15)::INTEGER AS __label FROM jan LIMIT ${referenceRows}`);
    const { reference, fitted } = await referenceOf(duck, 'ref', spec, 'binary', source);
    const control = await duck.all<FlightRequest & Record<string, unknown>>(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination FROM jan LIMIT ${controlRows} OFFSET ${referenceRows}`,
    );
    return { reference, fitted, control };
  });
}

/** The same flights, three times as far and seven hours later. */
export function drifted(instances: readonly FlightRequest[]): FlightRequest[] {
  return instances.map((f) => ({
    ...f,
    distance: f.distance * 3,
    date: new Date(Date.parse(`${f.date}Z`) + 7 * 3_600_000).toISOString().slice(0, 19),
  }));
}

export interface HeldOutTraffic {
  reference: DatasetProfile;
  fitted: FittedFeatures;
  /** Held-out rows as requests: the spec's input columns (timestamps as naive ISO text). */
  requests: Array<Record<string, unknown>>;
  /** The held-out rows' labels, in request order (class names or numbers). */
  labels: Array<string | number>;
}

/**
 * A table split in a fixed shuffled order: the first `referenceRows` rows (with `label` as
 * `__label`) are profiled and fitted as the training split, the rest become requests. `select`
 * adds derived columns to every row.
 */
export async function heldOutTraffic(options: {
  csv: string;
  spec: FeatureSpecInput;
  task: Task['kind'];
  label: string;
  referenceRows: number;
  select?: string;
  source?: string;
}): Promise<HeldOutTraffic> {
  const source = options.source ?? 'fixture';
  return withDuck(async (duck) => {
    await duck.run(`CREATE TABLE raw AS SELECT * FROM read_csv('${vegaData(options.csv)}')`);
    await duck.run(
      `CREATE TABLE rows AS SELECT *${options.select ? `, ${options.select}` : ''}, ${options.label} AS __label
       FROM raw ORDER BY hash(rowid)`,
    );
    await duck.run(`CREATE TABLE ref AS SELECT * FROM rows LIMIT ${options.referenceRows}`);
    const { reference, fitted } = await referenceOf(duck, 'ref', options.spec, options.task, source);
    const described = await duck.all<{ column_name: string; column_type: string }>('DESCRIBE rows');
    const inputs = [...new Set(fitted.spec.features.map((f) => f.column ?? f.name))];
    const cols = inputs.map((c) => {
      const type = described.find((d) => d.column_name === c)?.column_type ?? '';
      const q = `"${c}"`;
      return /DATE|TIMESTAMP/.test(type) ? `strftime(${q}, '%Y-%m-%dT%H:%M:%S') AS ${q}` : /CHAR/.test(type) ? q : `${q}::DOUBLE AS ${q}`;
    });
    const held = await duck.all<Record<string, unknown>>(`SELECT ${cols.join(', ')}, __label FROM rows OFFSET ${options.referenceRows}`);
    return {
      reference,
      fitted,
      requests: held.map(({ __label, ...request }) => request),
      labels: held.map((r) => r.__label as string | number),
    };
  });
}
