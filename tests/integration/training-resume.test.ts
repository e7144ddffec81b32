// Spot-tolerant training with real process kills against the real Temporal dev server and S3
// store: SIGKILL a GPU worker mid-run and a new one resumes from a checkpoint; SIGTERM (the
// preemption notice) writes a checkpoint within the grace period and the retry resumes from it.
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';
import { prepareDataWorkflow, type PrepareDataResult } from '../../lib/contracts/prepare-data.ts';
import {
  trainModelWorkflow,
  type TrainActivityResult,
  type TrainModelInput,
  type TrainModelResult as AnyTrainModelResult,
} from '../../lib/contracts/train-model.ts';

/** The built-in trainer's result (these runs use it). */
type TrainModelResult = AnyTrainModelResult & TrainActivityResult;
import { flightsPrepareFields } from '../fixtures/flights-example.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/training-${tag}`;
const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
const env = { ...infra.env, ARTIFACT_STORE: storeUri, FLYWHEEL_TRAINING_BACKEND: 'wasm', FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: '15000' };
const workers: Spawned[] = [];
let client: Client;
let job: TrainModelInput;

function gpuWorker(name: string): Spawned {
  const w = spawnWorker('gpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `${name}-${tag}` });
  workers.push(w);
  return w;
}

function run(id: string) {
  return client.workflow.start(trainModelWorkflow, {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.trainModel('flights-test', `${id}-${tag}`),
    args: [job],
  });
}

beforeAll(async () => {
  const cpu = spawnWorker('cpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `cpu-${tag}` });
  workers.push(cpu);
  await cpu.waitFor('"worker started"', 90_000);
  client = new Client({ connection: await Connection.connect({ address: infra.temporalAddress }) });
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-train-'));
  const out = join(dir, 'jan.parquet');
  await withDuck((d) =>
    d.run(
      `COPY (SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE date < TIMESTAMP '2001-02-01' ORDER BY date LIMIT 120000) TO '${out}' (FORMAT parquet)`,
    ),
  );
  const uri = (await store.put('raw/flights/month=2001-01/part-0000.parquet', await readFile(out))).uri;
  const spec = await loadValidationSpec(join(ROOT, 'examples/flights/validation.yaml'));
  const prepared = (await client.workflow.execute(prepareDataWorkflow, {
    taskQueue: TASK_QUEUES.cpu,
    workflowId: WORKFLOW_IDS.prepareData('flights', `train-${tag}`),
    args: [{ dataset: 'flights', sourceUris: [uri], validationSpec: spec, ...(await flightsPrepareFields()) }],
  })) as PrepareDataResult;
  job = {
    model: 'flights-test',
    datasetVersion: prepared.datasetVersion,
    trainUri: prepared.features.splits.train.uri,
    validationUri: prepared.features.splits.validation.uri,
    featureSpecUri: prepared.features.featureSpecUri,
    hyperparameters: { hidden: [32, 16], epochs: 6, batchSize: 512, patience: 10, seed: 11 },
    checkpoint: { everySteps: 40 },
  };
}, 180_000);

afterAll(async () => {
  await client?.connection.close();
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  store.dispose();
});

describe('spot-tolerant training', () => {
  let baseline: TrainModelResult;

  it('trains uninterrupted on the GPU queue (baseline)', async () => {
    const w = gpuWorker('gpu-a');
    await w.waitFor('"worker started"', 90_000);
    baseline = (await (await run('baseline')).result()) as TrainModelResult;
    expect(baseline).toMatchObject({
      epochsRun: 6,
      resumedFrom: null,
      preemptions: 0,
      taskQueues: ['flywheel-gpu'],
      identity: `gpu-a-${tag}`,
      backend: 'wasm',
    });
    // The ONNX export agrees with TF.js on 10k validation rows.
    expect(baseline.parity.rows).toBe(10_000);
    expect(baseline.parity.maxAbsDiff).toBeLessThanOrEqual(1e-5);
    expect(await store.exists(store.keyFor(baseline.modelUri))).toBe(true);
    w.child.kill('SIGTERM');
    await w.exited;
  }, 180_000);

  it('routes a job that declares no GPU to the CPU queue', async () => {
    const handle = await client.workflow.start(trainModelWorkflow, {
      taskQueue: TASK_QUEUES.cpu,
      workflowId: WORKFLOW_IDS.trainModel('flights-test', `cpu-${tag}`),
      args: [{ ...job, resources: { gpu: false }, hyperparameters: { ...job.hyperparameters, epochs: 1 } }],
    });
    const result = (await handle.result()) as TrainModelResult;
    expect(result).toMatchObject({ taskQueues: ['flywheel-cpu'], identity: `cpu-${tag}`, epochsRun: 1 });
  }, 120_000);

  it('resumes from a checkpoint after the worker is SIGKILLed mid-run', async () => {
    const a = gpuWorker('gpu-kill-a');
    await a.waitFor('"worker started"', 90_000);
    const handle = await run('sigkill');
    await a.waitFor(/"epoch":3,"loss"/, 120_000); // four of six epochs done
    a.child.kill('SIGKILL');
    await a.exited;
    const b = gpuWorker('gpu-kill-b');
    await b.waitFor('"worker started"', 90_000);
    const result = (await handle.result()) as TrainModelResult;
    expect(result.identity).toBe(`gpu-kill-b-${tag}`);
    expect(result.resumedFrom).not.toBeNull();
    expect(result.resumedFrom!.epoch).toBeGreaterThan(0);
    expect(result.epochsRun).toBe(6);
    // Same seed, same batches: the resumed run ends where the uninterrupted one did.
    expect(Math.abs(result.bestValLoss - baseline.bestValLoss)).toBeLessThan(1e-4);
    result.history.forEach((h, i) => expect(Math.abs(h.valLoss - baseline.history[i]!.valLoss)).toBeLessThan(1e-4));
    b.child.kill('SIGTERM');
    await b.exited;
  }, 240_000);

  it('checkpoints on SIGTERM within the grace period and resumes on the retry', async () => {
    const a = gpuWorker('gpu-term-a');
    await a.waitFor('"worker started"', 90_000);
    const handle = await run('sigterm');
    await a.waitFor(/"epoch":2,"loss"/, 120_000);
    const sent = Date.now();
    a.child.kill('SIGTERM');
    const exit = await a.exited;
    const exitMs = Date.now() - sent;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThan(15_000);
    expect(a.output()).toContain('preempted: checkpoint written');
    const b = gpuWorker('gpu-term-b');
    await b.waitFor('"worker started"', 90_000);
    const result = (await handle.result()) as TrainModelResult;
    expect(result.preemptions).toBe(1);
    expect(result.resumedFrom).not.toBeNull();
    expect(result.resumedFrom!.epoch).toBeGreaterThanOrEqual(2);
    expect(result.epochsRun).toBe(6);
    expect(Math.abs(result.bestValLoss - baseline.bestValLoss)).toBeLessThan(1e-4);
  }, 240_000);
});
