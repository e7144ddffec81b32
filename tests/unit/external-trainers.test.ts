// The `command` and `onnx` trainers' activities on a local store: the command gets the splits
// encoded with the run's fitted features (.npy) and task.json, an allow-listed environment and its
// spec's folder; the model it writes (or the file imported) is checked against the fitted
// features and the task and stamped with the metadata serving checks; a mismatch is permanent.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCommandTrainingActivities } from '../../activities/training/command.ts';
import { createImportActivities } from '../../activities/training/import.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { fitFeatures, loadFeatureSpec, modelIO, type ModelIO } from '../../lib/features/tabular/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { exportMlpToOnnx, OnnxSession, readOnnxMetadata, type MlpHead, type MlpWeights } from '../../lib/onnx/index.ts';
import { LocalArtifactStore, putJson } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import type { CommandModelInput, ExternalModelResult, ImportModelInput } from '../../lib/contracts/train-model.ts';

const TRAINER = fileURLToPath(new URL('../fixtures/trainers/copy_model_trainer.py', import.meta.url));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let root: string;
let store: LocalArtifactStore;
let io: ModelIO;
let splits: { trainUri: string; validationUri: string; featureSpecUri: string };

/** A one-layer model of `dim` inputs with the given head (weights small and fixed). */
function linearModel(
  dim: number,
  head: MlpHead = 'binary',
  units = 1,
  metadata = { featureSpecHash: 'none', datasetVersion: 'elsewhere' },
) {
  const weights = new Float32Array(dim * units).map((_, i) => ((i % 13) - 6) / 50);
  const mlp: MlpWeights = {
    inputDim: dim,
    head,
    layers: [
      {
        weights,
        bias: new Float32Array(units),
        inputs: dim,
        units,
        activation: head === 'binary' ? 'sigmoid' : head === 'multiclass' ? 'softmax' : 'linear',
      },
    ],
  };
  return exportMlpToOnnx(mlp, metadata);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flywheel-external-'));
  store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
  await withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE rows AS SELECT *, (delay > 15)::INTEGER AS __label, row_number() OVER () AS n
       FROM (SELECT * FROM read_parquet('${flightsParquetPath()}') ORDER BY date LIMIT 3000)`,
    );
    const uris: Record<string, string> = {};
    for (const [name, where] of [
      ['train', 'n <= 2000'],
      ['validation', 'n > 2000'],
    ] as const) {
      const file = join(root, `${name}.parquet`);
      await duck.run(`COPY (SELECT * EXCLUDE (n) FROM rows WHERE ${where}) TO ${sqlString(file)} (FORMAT parquet)`);
      uris[name] = (await store.put(`data/${name}.parquet`, await readFile(file))).uri;
    }
    await duck.run(`CREATE TABLE train AS SELECT * FROM rows WHERE n <= 2000`);
    const spec = await loadFeatureSpec(join(import.meta.dirname, '../../examples/flights/features.yaml'));
    const fitted = { ...(await fitFeatures(duck, 'train', spec, { fittedOn: 'test' })), task: { kind: 'binary' as const } };
    io = modelIO(fitted);
    splits = {
      trainUri: uris.train!,
      validationUri: uris.validation!,
      featureSpecUri: (await putJson(store, 'features/fitted.json', fitted)).uri,
    };
  });
});

function commandActivities(keepAliveMs?: number) {
  return createCommandTrainingActivities({
    ...(keepAliveMs ? { keepAliveMs } : {}),
    store,
    logger: silentLogger(),
    identity: 'test',
    preemption: { signal: new AbortController().signal, dispose() {} },
  });
}

/** `runId`: the workflow run the attempt belongs to (a retried attempt shares it, another run does not). */
const envWith = (runId?: string) =>
  new MockActivityEnvironment(runId ? { workflowExecution: { workflowId: 'train/m', runId } } : undefined, {
    logger: quiet,
    interceptors: [flywheelActivityInterceptors],
  });

async function trainWith(
  modelPath: string,
  runKey: string,
  options: { quietS?: number; keepAliveMs?: number; env?: MockActivityEnvironment } = {},
): Promise<ExternalModelResult> {
  const input: CommandModelInput = {
    runKey,
    ...splits,
    datasetVersion: 'v-test',
    trainer: {
      kind: 'command',
      command: ['python3', TRAINER],
      workingDir: root,
      hyperparameters: { epochs: 2 },
      env: { pass: ['FLYWHEEL_TEST_PASSED'], set: { MODEL_SRC: modelPath, QUIET_S: String(options.quietS ?? 0) } },
      killGraceMs: 2000,
    },
  };
  return (await (options.env ?? envWith()).run(commandActivities(options.keepAliveMs).trainCommandModel, input)) as ExternalModelResult;
}

describe('trainCommandModel', () => {
  it('hands the command encoded splits, task.json and an allow-listed environment, and stamps the model it wrote', async () => {
    const modelPath = join(root, 'good.onnx');
    await writeFile(modelPath, linearModel(io.encoder.dimension));
    process.env.FLYWHEEL_TEST_PASSED = 'yes';
    process.env.FLYWHEEL_TEST_SECRET = 'must-not-leak';
    const result = await trainWith(modelPath, 'training/cmd-good');
    expect(result).toMatchObject({ trainer: 'command', featureSpecHash: io.hash, metrics: { copied: 1 }, task: { kind: 'binary' } });
    expect(result.lineage).toMatchObject({ command: ['python3', TRAINER], hyperparameters: { epochs: 2 }, datasetVersion: 'v-test' });

    const report = JSON.parse((await store.get('training/cmd-good/output/report.json')).toString('utf8')) as {
      env: string[];
      task: Record<string, unknown>;
      cwd: string;
      train: Record<string, { descr: string; shape: number[]; fortran: boolean }>;
      validation: Record<string, { shape: number[] }>;
    };
    const dim = io.encoder.dimension;
    expect(report.task).toEqual({ kind: 'binary', inputDim: dim, output: 'probability', featureNames: io.encoder.names() });
    expect(report.train['features.npy']).toMatchObject({ descr: '<f4', shape: [2000, dim], fortran: false });
    expect(report.train['labels.npy']!.shape).toEqual([2000]);
    expect(report.validation['features.npy']!.shape).toEqual([1000, dim]);
    expect(report.cwd).toBe(root);
    expect(report.env).toContain('FLYWHEEL_TEST_PASSED');
    expect(report.env).toContain('MODEL_SRC');
    expect(report.env).toContain('PATH');
    expect(report.env).not.toContain('FLYWHEEL_TEST_SECRET');

    const stamped = await store.get('training/cmd-good/model.onnx');
    expect(readOnnxMetadata(stamped)).toMatchObject({ featureSpecHash: io.hash, datasetVersion: 'v-test', task: 'binary' });
    // Serving's own loader reads the stamped file and gets the head it expects.
    const session = await OnnxSession.create(stamped);
    expect([session.inputDim, session.outputDim, session.outputName]).toEqual([dim, 1, 'probability']);
    await session.dispose();
  });

  it('keeps beating while the command says nothing, so a quiet attempt is not taken for a dead worker', async () => {
    const modelPath = join(root, 'quiet.onnx');
    await writeFile(modelPath, linearModel(io.encoder.dimension));
    const env = envWith();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    const quiet = await trainWith(modelPath, 'training/cmd-quiet', { quietS: 1.5, keepAliveMs: 200, env });
    expect(quiet.trainer).toBe('command');
    // The command printed only `done`: every beat is the keep-alive's (≥ 1.5 s / 200 ms, less slack).
    expect(beats).toBeGreaterThanOrEqual(5);
  });

  it('refuses a model whose input is not the fitted features’ width, for good', async () => {
    const modelPath = join(root, 'narrow.onnx');
    await writeFile(modelPath, linearModel(io.encoder.dimension - 1));
    const err = await trainWith(modelPath, 'training/cmd-narrow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`input "features" has shape \\[N, ${io.encoder.dimension - 1}\\], not \\[N, ${io.encoder.dimension}\\]`),
    );
  });
});

describe('a command that cannot start', () => {
  async function attempt(command: string[], workingDir: string): Promise<ApplicationFailure> {
    try {
      await envWith().run(commandActivities().trainCommandModel, {
        runKey: `training/cmd-bad-${Math.random()}`,
        ...splits,
        datasetVersion: 'v-test',
        trainer: { kind: 'command', command, workingDir, hyperparameters: {}, env: { pass: [], set: {} }, killGraceMs: 1000 },
      } satisfies CommandModelInput);
    } catch (e) {
      return e as ApplicationFailure;
    }
    throw new Error('the command started');
  }

  it('fails for good, naming the PATH searched, when the program is not there', async () => {
    const err = await attempt(['pythn3', 'train.py'], root);
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toMatch(/the training command pythn3 is not on this worker's PATH \(.*\); .*FLYWHEEL_TRAINER_PATH/);
  });

  it('fails for good, naming the folder, when the working folder is missing', async () => {
    const err = await attempt(['python3', 'train.py'], join(root, 'no-such-folder'));
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain(`working folder ${join(root, 'no-such-folder')} does not exist`);
  });
});

describe('importOnnxModel', () => {
  const importOf = (modelUri: string, runKey: string, runId?: string) =>
    envWith(runId).run(createImportActivities({ store, logger: silentLogger(), identity: 'test' }).importOnnxModel, {
      runKey,
      modelUri,
      ...splits,
      datasetVersion: 'v-test',
    } satisfies ImportModelInput) as Promise<ExternalModelResult>;

  it('registers a file trained elsewhere as the candidate, stamped, with its checksum in the lineage', async () => {
    const path = join(root, 'elsewhere.onnx');
    const bytes = linearModel(io.encoder.dimension);
    await writeFile(path, bytes);
    const result = await importOf(pathToFileURL(path).href, 'training/import-good');
    expect(result).toMatchObject({ trainer: 'onnx', featureSpecHash: io.hash, modelUri: store.uriFor('training/import-good/model.onnx') });
    expect(result.lineage.sourceSha256).toMatch(/^[0-9a-f]{64}$/);
    const stamped = await store.get('training/import-good/model.onnx');
    // The original bytes are kept as they were; only metadata entries are appended.
    expect(Buffer.from(stamped.subarray(0, bytes.length)).equals(Buffer.from(bytes))).toBe(true);
    expect(readOnnxMetadata(stamped)).toMatchObject({ featureSpecHash: io.hash, trainer: 'onnx-import' });
  });

  it.each([
    [
      'a regression head for a binary task',
      () => linearModel(io.encoder.dimension, 'regression'),
      /no output "probability" \(it has \["value"\]\)/,
    ],
    ['a multiclass head for a binary task', () => linearModel(io.encoder.dimension, 'multiclass', 3), /no output "probability"/],
  ])('refuses %s, naming what Flywheel feeds and reads', async (_name, model, message) => {
    const path = join(root, `bad-${Math.random()}.onnx`);
    await writeFile(path, model());
    const err = await importOf(pathToFileURL(path).href, 'training/import-bad').catch((e: unknown) => e);
    expect((err as ApplicationFailure).nonRetryable).toBe(true);
    expect((err as Error).message).toMatch(message);
  });

  it('never lets another run replace a model under a run key: the same bytes succeed, others fail for good naming the key', async () => {
    const first = join(root, 'once-a.onnx');
    const second = join(root, 'once-b.onnx');
    await writeFile(first, linearModel(io.encoder.dimension));
    await writeFile(second, linearModel(io.encoder.dimension, 'binary', 1, { featureSpecHash: 'none', datasetVersion: 'other' }));
    const runKey = 'training/train/m/v-test/1';
    await importOf(pathToFileURL(first).href, runKey, 'run-1');
    const registered = await store.get(`${runKey}/model.onnx`);
    // Another run's attempt writing the same bytes: success, nothing changes.
    await expect(importOf(pathToFileURL(first).href, runKey, 'run-2')).resolves.toMatchObject({
      modelUri: store.uriFor(`${runKey}/model.onnx`),
    });
    // Another run under the same key (a re-created lifecycle on old code) is refused, not retried.
    const err = await importOf(pathToFileURL(second).href, runKey, 'run-2').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'ArtifactExists', nonRetryable: true });
    expect((err as Error).message).toContain(store.uriFor(`${runKey}/model.onnx`));
    expect((await store.get(`${runKey}/model.onnx`)).equals(registered)).toBe(true);
    // A retried attempt of the run that wrote it (not yet registered) may replace its own file.
    await importOf(pathToFileURL(second).href, runKey, 'run-1');
    expect((await store.get(`${runKey}/model.onnx`)).equals(registered)).toBe(false);
  });

  it('refuses a missing file and a file that is not ONNX', async () => {
    const missing = await importOf(pathToFileURL(join(root, 'nope.onnx')).href, 'training/import-missing').catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(/cannot read the model to import .*ENOENT/);
    const junk = join(root, 'junk.onnx');
    await writeFile(junk, 'not a model');
    const bad = await importOf(pathToFileURL(junk).href, 'training/import-junk').catch((e: unknown) => e);
    expect((bad as ApplicationFailure).nonRetryable).toBe(true);
    expect((bad as Error).message).toMatch(/ONNX Runtime cannot load the model/);
  });
});
