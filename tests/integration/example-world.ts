// Running the bundled example datasets (weather: multiclass, Seattle temperature: regression)
// through a test file's LifecycleWorld: their specs under a name of this run, every partition of
// their source arrived, the lifecycle started, and live labelled traffic to an inference server.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { dataArrivedSignal, type DataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { arriveSourcePartitions } from '../../lib/data/lake.ts';
import { loadModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { ROOT } from './processes.ts';

export interface Example {
  folder: string;
  csv: string;
  /** The input columns of a request, read from the CSV as the server wants them. */
  select: string;
  /** The label column of the CSV. */
  label: string;
}

export const EXAMPLES = {
  weather: {
    folder: 'weather',
    csv: 'weather.csv',
    select: `location, strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, precipitation::DOUBLE AS precipitation,
             temp_max::DOUBLE AS temp_max, temp_min::DOUBLE AS temp_min, wind::DOUBLE AS wind`,
    label: 'weather',
  },
  seattle: {
    folder: 'seattle-temperature',
    csv: 'seattle-weather-hourly-normals.csv',
    select: `strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, pressure::DOUBLE AS pressure, wind::DOUBLE AS wind`,
    label: 'temperature',
  },
} satisfies Record<string, Example>;

export const exampleCsv = (example: Example) => join(ROOT, 'node_modules/vega-datasets/data', example.csv);

/** A spec file's model under a name of this run (`tag`), no drift monitor. */
export async function exampleSpec(path: string, tag: string, overrides: (spec: ModelSpec) => ModelSpec = (s) => s): Promise<ModelSpec> {
  const spec = await loadModelSpec(path);
  return overrides({
    ...spec,
    name: `${spec.name}-${tag}`,
    data: { ...spec.data, dataset: `${spec.data.dataset}-${tag}` },
    monitor: { ...spec.monitor, enabled: false },
  });
}

/** Cuts every partition of the spec's source into the lake (as `flywheel data arrive --all
 * --spec` does) and returns the events, oldest first. */
export async function arriveAll(store: ArtifactStore, spec: ModelSpec): Promise<DataArrivedSignal[]> {
  const data = { dataset: spec.data.dataset, source: spec.data.source!, partition: spec.data.partition!, time: spec.data.time! };
  const arrived = await withDuck((duck) => arriveSourcePartitions(duck, { store }, data, 'all'));
  return arrived.map(({ event }) => ({ eventId: event.eventId, dataset: event.dataset, partition: event.partition, uris: event.uris }));
}

/** Starts the lifecycle with every partition recorded and the last one starting the cycle;
 * returns its workflow id. */
export async function startLifecycle(client: Client, spec: ModelSpec, events: readonly DataArrivedSignal[]): Promise<string> {
  const workflowId = WORKFLOW_IDS.modelLifecycle(spec.name);
  const [first, ...rest] = events;
  await client.workflow.signalWithStart(modelLifecycle, {
    workflowId,
    taskQueue: TASK_QUEUES.cpu,
    args: [spec],
    signal: dataArrivedSignal,
    signalArgs: [{ ...first!, retrain: rest.length === 0 }],
  });
  const handle = client.workflow.getHandle(workflowId);
  for (const [i, e] of rest.entries()) await handle.signal(dataArrivedSignal, { ...e, retrain: i === rest.length - 1 });
  return workflowId;
}

export async function post(
  url: string,
  path: string,
  key: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A shadow step and a 50% canary, short holds, judged on a few dozen labelled requests per arm:
 * the first cycle has no champion and is promoted directly; a retrain walks these steps. */
export function withRollout(spec: ModelSpec): ModelSpec {
  return {
    ...spec,
    rollout: {
      steps: [
        { shadow: true, weight: 0, hold: '2s' },
        { shadow: false, weight: 50, hold: '2s' },
      ],
      analysis: {
        ...spec.rollout.analysis,
        interval: '1s',
        minSamples: 20,
        maxExtension: '90s',
        minLabels: 20,
        maxAccuracyDrop: 0.3,
        maxRmseIncrease: 1,
      },
    },
  };
}

export interface Traffic {
  ok: number;
  failed: string[];
  stop(): Promise<void>;
}

/** Live traffic to `model`: one row per request with a random routing key, its true label posted
 * as feedback (naming the model, so the server checks it), about `rps` a second. */
export function labelledTraffic(
  server: { url: string; key: string },
  model: string,
  rows: ReadonlyArray<{ instance: Record<string, unknown>; label: string | number }>,
  rps: number,
): Traffic {
  const t: Traffic = { ok: 0, failed: [], stop: async () => undefined };
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const { instance, label } = rows[i % rows.length]!;
      const res = await post(server.url, `/v1/models/${model}/predict`, server.key, {
        instances: [instance],
        routingKey: randomUUID(),
      }).catch((err: unknown) => ({ status: 0, json: { error: String(err) } as Record<string, unknown> }));
      if (res.status !== 200) t.failed.push(`${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
      else {
        t.ok++;
        const fb = await post(server.url, '/v1/feedback', server.key, { requestId: res.json.requestId, label, model });
        if (fb.status >= 300) t.failed.push(`feedback ${fb.status} ${JSON.stringify(fb.json).slice(0, 200)}`);
      }
      await new Promise((r) => setTimeout(r, 1000 / rps));
    }
  })();
  t.stop = async () => {
    running = false;
    await loop;
  };
  return t;
}

/** The example's CSV rows from `where` on, as request instances with their labels. */
export async function labelledRows(
  example: Example,
  where = 'true',
): Promise<Array<{ instance: Record<string, unknown>; label: string | number }>> {
  return withDuck(async (duck) => {
    const got = await duck.all<Record<string, unknown>>(
      `SELECT ${example.select}, ${example.label} AS __label FROM read_csv('${exampleCsv(example)}') WHERE ${where} ORDER BY date`,
    );
    return got.map(({ __label, ...instance }) => ({ instance, label: typeof __label === 'number' ? __label : String(__label) }));
  });
}
