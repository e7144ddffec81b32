// Any trainer, any client, on the real servers. The scikit-learn example (examples/sklearn, a real
// Python process in the venv the infra scripts install from PyPI) trains two example models under
// the command-trainer protocol inside the loop:
// - weather (multiclass): its Python process is killed with SIGKILL mid-run and the retry resumes
//   from the last stored checkpoint;
// - Seattle temperature (regression), on the GPU queue with `preemption.switchAfter: 1`: its spot
//   worker gets the preemption notice (SIGTERM) mid-run, and the run finishes on the on-demand
//   queue the spec names, from the checkpoint the notice wrote.
// The weather model's ONNX file is then imported by a third model (`trainer.kind: onnx`). Both
// weather models retrain and become champion through a progressive rollout on live labelled
// traffic. Every champion answers over Flywheel's route and over the Open Inference Protocol
// (`tritonclient.http`, a V2 client nobody here wrote) with parity ≤ 1e-5 against onnxruntime in
// Python on the same encoded rows.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { retrainSignal } from '../../lib/contracts/model-lifecycle.ts';
import type { RolloutResult } from '../../lib/contracts/rollout.ts';
import type { trainModelWorkflow } from '../../lib/contracts/train-model.ts';
import { type ExternalModelResult, type TrainModelResult } from '../../lib/contracts/train-model.ts';
import type { PostgresDatabase } from '../../lib/db/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { batchFromInstances, loadModelIO, type ModelIO } from '../../lib/features/tabular/index.ts';
import { createLogger } from '../../lib/log.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import type { BuiltinRegistry, ModelVersion } from '../../lib/registry/index.ts';
import { FEATURE_SPEC_TAG } from '../../lib/registry/tags.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { encodeNpyFloat32 } from '../../lib/training/npy.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import {
  arriveAll,
  EXAMPLES,
  exampleCsv,
  exampleSpec,
  labelledRows,
  labelledTraffic,
  post,
  startLifecycle,
  withRollout,
  type Example,
} from './example-world.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { LifecycleWorld, pollUntil, waitForStatus } from './lifecycle-helpers.ts';
import { freePort, ROOT, spawnWorker, type Spawned } from './processes.ts';

const run = promisify(execFile);
const infra = getInfra();
useInfraAwsCredentials(infra);
const world = new LifecycleWorld(infra, 'trainers');
const { tag, store } = world;
const PYTHON = infra.trainersPython ?? join(ROOT, '.tools/trainers-venv/bin/python');
const SKLEARN = join(ROOT, 'examples/sklearn');
const ON_DEMAND = `flywheel-ondemand-${tag}`;
let client: Client;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let server: InferenceServer | undefined;
let spot: Spawned;
let onDemand: Spawned;
let dir: string;
let url: string;
let key: string;
const started: string[] = [];

/** The training command's process, found by the run tag in its FLYWHEEL_HYPERPARAMETERS. */
async function trainerPid(runTag: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'latin1').catch(() => '');
    const hp = environ.split('\0').find((v) => v.startsWith('FLYWHEEL_HYPERPARAMETERS='));
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'latin1').catch(() => '');
    if (hp?.includes(`"run_tag":"${runTag}"`) && cmd.includes('train.py')) return Number(entry);
  }
  return undefined;
}

/** Stored checkpoint manifests of `model`'s training runs. */
async function checkpoints(model: string): Promise<string[]> {
  const found: string[] = [];
  for await (const o of store.list(`training/${WORKFLOW_IDS.trainModel(model, '')}`))
    if (o.key.includes('/checkpoints/') && o.key.endsWith('/manifest.json')) found.push(o.key);
  return found;
}

/** trainModel's result for a registered version (its run key is `training/<trainModel id>`). */
async function trainResult(version: ModelVersion): Promise<TrainModelResult & ExternalModelResult> {
  const id = version.runId.replace(/^training\//, '');
  return (await client.workflow.getHandle<typeof trainModelWorkflow>(id).result()) as TrainModelResult & ExternalModelResult;
}

/** The sklearn example trainer for `spec`, with this run's tag in its hyperparameters (to find its process). */
function sklearnTrainer(
  spec: ModelSpec,
  runTag: string,
  extra: Partial<Extract<ModelSpec['trainer'], { kind: 'command' }>> = {},
): ModelSpec {
  return {
    ...spec,
    trainer: {
      kind: 'command',
      command: ['python3', 'train.py'],
      workingDir: SKLEARN,
      // The example's settings (a spec that has none gets them too), slowed so a kill lands mid-run.
      hyperparameters: {
        hidden: [16],
        batch_size: 32,
        learning_rate: 0.01,
        seed: 7,
        ...(spec.trainer.kind === 'command' ? spec.trainer.hyperparameters : {}),
        epochs: 12,
        epoch_delay_s: 0.5,
        run_tag: runTag,
      },
      env: { pass: [], set: {} },
      resources: { gpu: false },
      killGrace: '10s',
      ...extra,
    },
  };
}

/** `instances` encoded with the version's fitted features, as the server encodes them. */
async function encoded(version: ModelVersion, instances: readonly Record<string, unknown>[]): Promise<{ io: ModelIO; npy: string }> {
  const io = await loadModelIO(store, version.tags[FEATURE_SPEC_TAG]!);
  const batch = batchFromInstances(io.fitted.spec, instances);
  if (!batch.ok) throw new Error(JSON.stringify(batch.errors));
  const npy = join(dir, `x-${version.model}-${version.version}.npy`);
  await writeFile(npy, encodeNpyFloat32(io.encoder.encode(batch.batch), [instances.length, io.encoder.dimension]));
  return { io, npy };
}

/** onnxruntime in Python on the version's own artifact: the reference answers, one row per instance. */
async function pythonReference(version: ModelVersion, npy: string, output: string): Promise<number[][]> {
  const model = join(dir, `m-${version.model}-${version.version}.onnx`);
  await writeFile(model, await store.get(store.keyFor(version.artifactUri), { verify: true }));
  const { stdout } = await run(PYTHON, [join(ROOT, 'tests/python/ort_predict.py'), model, npy, output]);
  return JSON.parse(stdout) as number[][];
}

/** The V2 answer from tritonclient.http (binary tensors, as the client sends by default). */
async function tritonInfer(model: string, instances: readonly Record<string, unknown>[]) {
  const rows = join(dir, `rows-${model}.json`);
  await writeFile(rows, JSON.stringify(instances));
  const { stdout } = await run(PYTHON, [
    join(ROOT, 'tests/python/v2_client.py'),
    '--url',
    new URL(url).host,
    '--model',
    model,
    '--rows',
    rows,
    '--header',
    `X-API-Key=${key}`,
    '--binary',
  ]);
  return JSON.parse(stdout) as {
    live: boolean;
    ready: boolean;
    metadata: Record<string, unknown>;
    outputs: Record<string, unknown[]>;
    model_version: string;
  };
}

async function sample(example: Example, rows: number): Promise<Record<string, unknown>[]> {
  return withDuck((duck) =>
    duck.all<Record<string, unknown>>(
      `SELECT ${example.select} FROM (SELECT * FROM read_csv('${exampleCsv(example)}') USING SAMPLE reservoir(${rows} ROWS) REPEATABLE (11))`,
    ),
  );
}

const maxAbsDiff = (a: readonly number[], b: readonly number[]) => {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-trainers-'));
  url = `http://127.0.0.1:${await freePort()}`;
  ({ db, registry, client } = await world.start(async (database) => {
    key = (await createApiKey(database, { name: `trainers-${tag}`, scopes: ['admin', 'predict', 'feedback'] })).key;
    return { FLYWHEEL_SERVING_URL: url, FLYWHEEL_SERVING_ADMIN_KEY: key, FLYWHEEL_TRAINER_PATH: dirname(PYTHON) };
  }));
  const gpuEnv = {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: world.storeUri,
    FLYWHEEL_TRAINING_BACKEND: 'cpu',
    FLYWHEEL_TRAINER_PATH: dirname(PYTHON),
  };
  spot = spawnWorker('gpu', { ...gpuEnv, FLYWHEEL_WORKER_IDENTITY: `spot-${tag}` });
  onDemand = spawnWorker('gpu', { ...gpuEnv, FLYWHEEL_WORKER_IDENTITY: `on-demand-${tag}`, FLYWHEEL_WORKER_TASK_QUEUE: ON_DEMAND });
  await Promise.all([spot.waitFor('"worker started"', 90_000), onDemand.waitFor('"worker started"', 90_000)]);
}, 240_000);

afterAll(async () => {
  await world.terminate(started);
  await server?.stop().catch(() => undefined);
  for (const w of [spot, onDemand]) {
    w?.child.kill('SIGTERM');
    await w?.exited;
  }
  await world.stop();
});

describe('command and onnx trainers through the loop, and the Open Inference Protocol', () => {
  let weatherSk: ModelSpec;
  let seattleSk: ModelSpec;
  let weatherImport: ModelSpec;

  it('trains with the sklearn example: a SIGKILLed run resumes from its checkpoint, a preempted one finishes on the on-demand queue', async () => {
    weatherSk = await exampleSpec(join(SKLEARN, 'model.yaml'), tag, (s) => withRollout(sklearnTrainer(s, `${tag}-weather`)));
    seattleSk = await exampleSpec(join(ROOT, 'examples/seattle-temperature/model.yaml'), tag, (s) =>
      sklearnTrainer({ ...s, name: `seattle-sklearn-${tag}` }, `${tag}-seattle`, {
        resources: { gpu: true },
        preemption: { maxPreemptions: 3, switchAfter: 1, onDemandQueue: ON_DEMAND },
      }),
    );
    started.push(await startLifecycle(client, weatherSk, await arriveAll(store, weatherSk)));
    started.push(await startLifecycle(client, seattleSk, await arriveAll(store, seattleSk)));

    // Kill the weather trainer once two epochs are stored; the activity's retry resumes it.
    await pollUntil(
      'two weather checkpoints',
      () => checkpoints(weatherSk.name),
      (c) => c.length >= 2,
      180_000,
    );
    const pid = await trainerPid(`${tag}-weather`);
    expect(pid, 'the weather training process').toBeDefined();
    process.kill(pid!, 'SIGKILL');
    // Preempt the spot worker once the Seattle run has stored a checkpoint.
    await pollUntil(
      'a Seattle checkpoint',
      () => checkpoints(seattleSk.name),
      (c) => c.length >= 1,
      180_000,
    );
    spot.child.kill('SIGTERM');

    for (const spec of [weatherSk, seattleSk]) {
      const status = await waitForStatus(client, spec.name, (s) => s.history.length >= 1, 300_000);
      expect(status.history[0], JSON.stringify(status.history[0])).toMatchObject({ cycle: 1, stage: 'promoted', version: 1 });
    }
    const weatherRun = await trainResult(await registry.getVersion(weatherSk.name, 1));
    expect(weatherRun).toMatchObject({ trainer: 'command', preemptions: 0, task: { kind: 'multiclass' } });
    expect(weatherRun.resumedFrom, 'resumed after the SIGKILL').toMatch(/\/checkpoints\//);
    const seattleRun = await trainResult(await registry.getVersion(seattleSk.name, 1));
    expect(seattleRun).toMatchObject({
      trainer: 'command',
      preemptions: 1,
      taskQueues: ['flywheel-gpu', ON_DEMAND],
      identity: `on-demand-${tag}`,
    });
    expect(seattleRun.resumedFrom, 'resumed on the on-demand queue').toMatch(/\/checkpoints\//);
    expect((await spot.exited).code).toBe(0);
  }, 600_000);

  it('imports the weather model’s ONNX file as a third model, checked against its fitted features', async () => {
    const v1 = await registry.getVersion(weatherSk.name, 1);
    const raw = join(dir, 'weather-from-sklearn.onnx');
    await writeFile(raw, await store.get(`${v1.runId}/output/model.onnx`));
    weatherImport = await exampleSpec(join(ROOT, 'examples/weather/model.yaml'), tag, (s) =>
      withRollout({
        ...s,
        name: `weather-import-${tag}`,
        trainer: { kind: 'onnx', model: pathToFileURL(raw).href, resources: { gpu: false } },
      }),
    );
    started.push(await startLifecycle(client, weatherImport, await arriveAll(store, weatherImport)));
    const status = await waitForStatus(client, weatherImport.name, (s) => s.history.length >= 1, 300_000);
    expect(status.history[0], JSON.stringify(status.history[0])).toMatchObject({ cycle: 1, stage: 'promoted', version: 1 });
    const imported = await trainResult(await registry.getVersion(weatherImport.name, 1));
    expect(imported).toMatchObject({ trainer: 'onnx', lineage: { sourceUri: pathToFileURL(raw).href } });
  }, 360_000);

  it('both weather models retrain and become champion through a rollout on live labelled traffic', async () => {
    const settings = loadConfig('serve', {
      FLYWHEEL_SERVE_PORT: new URL(url).port,
      FLYWHEEL_SERVE_MODELS: [weatherSk.name, seattleSk.name, weatherImport.name].join(','),
      FLYWHEEL_SERVE_REFRESH_MS: '1000',
    }).serve;
    server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
    await server.start();
    const rows = await labelledRows(EXAMPLES.weather, `date >= DATE '2015-06-01'`);
    const traffic = [weatherSk, weatherImport].map((spec) => labelledTraffic({ url, key }, spec.name, rows, 30));
    try {
      for (const spec of [weatherSk, weatherImport])
        await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name)).signal(retrainSignal, { reason: 'trainers rollout test' });
      for (const spec of [weatherSk, weatherImport]) {
        const done = await waitForStatus(client, spec.name, (s) => s.history.length >= 2, 360_000);
        expect(done.history[1], JSON.stringify(done.history[1])).toMatchObject({ cycle: 2, stage: 'promoted', version: 2 });
        const result = (await client.workflow.getHandle(WORKFLOW_IDS.rollout(spec.name, 2)).result()) as RolloutResult;
        expect(result, JSON.stringify(result)).toMatchObject({ outcome: 'completed', champion: 2 });
      }
    } finally {
      await Promise.all(traffic.map((t) => t.stop()));
    }
    for (const t of traffic) {
      expect(t.failed).toEqual([]);
      expect(t.ok).toBeGreaterThan(20);
    }
  }, 600_000);

  it('every champion answers over /v1 and over V2 (tritonclient) with parity ≤ 1e-5 against onnxruntime in Python', async () => {
    const weatherRows = await sample(EXAMPLES.weather, 40);
    const seattleRows = await sample(EXAMPLES.seattle, 40);
    for (const [spec, instances] of [
      [weatherSk, weatherRows],
      [weatherImport, weatherRows],
      [seattleSk, seattleRows],
    ] as const) {
      const champion = await registry.getAlias(spec.name, 'champion');
      const { io, npy } = await encoded(champion, instances);
      const reference = await pythonReference(champion, npy, io.head.onnxOutput);
      const online = await post(url, `/v1/models/${spec.name}/predict`, key, { instances });
      expect(online.status, JSON.stringify(online.json)).toBe(200);
      const predictions = online.json.predictions as Array<{ probabilities?: Record<string, number>; value?: number; version: number }>;
      expect(predictions.every((p) => p.version === champion.version)).toBe(true);
      const v2 = await tritonInfer(spec.name, instances);
      expect([v2.live, v2.ready, v2.model_version]).toEqual([true, true, String(champion.version)]);
      if (io.task.kind === 'multiclass') {
        const classes = io.task.classes;
        const flat = (rows: number[][]) => rows.flat();
        expect(maxAbsDiff(flat(predictions.map((p) => classes.map((c) => p.probabilities![c]!))), flat(reference))).toBeLessThanOrEqual(
          1e-5,
        );
        expect(maxAbsDiff((v2.outputs.probabilities as number[][]).flat(), flat(reference))).toBeLessThanOrEqual(1e-5);
        expect(v2.outputs.class).toEqual(
          predictions.map((p) => classes[classes.findIndex((c) => p.probabilities![c] === Math.max(...Object.values(p.probabilities!)))]),
        );
      } else {
        // The V2 metadata declares number columns FP64, so tritonclient sends the same doubles as /v1's
        // JSON: both paths encode identical rows.
        const values = predictions.map((p) => p.value!);
        const v2Values = (v2.outputs.value as number[]).flat();
        expect(maxAbsDiff(values, reference.flat())).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(v2Values, reference.flat())).toBeLessThanOrEqual(1e-5);
        console.log(
          `[trainers] ${spec.name}: values ${Math.min(...values).toFixed(1)}…${Math.max(...values).toFixed(1)}, ` +
            `max |Δ| vs onnxruntime in Python: /v1 ${maxAbsDiff(values, reference.flat()).toExponential(2)}, V2 ${maxAbsDiff(v2Values, reference.flat()).toExponential(2)}`,
        );
      }
    }
  }, 180_000);
});
