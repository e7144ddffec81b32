// The scikit-learn example trainer (examples/sklearn/train.py), the real script in the real
// trainers venv, run by runCommandTrainer over a local-folder store: for each task kind it exports
// an ONNX model that follows Flywheel's contract and scores like the estimator; and a run stopped
// after its second checkpoint resumes to the same final model as a run never stopped.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/log.ts';
import { checkModelSignature } from '../../lib/onnx/imported.ts';
import { OnnxSession } from '../../lib/onnx/session.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { encodeNpyFloat32 } from '../../lib/training/npy.ts';
import { getInfra } from './infra.ts';
import { latestCheckpoint, runCommandTrainer, type CommandTrainerResult, type TrainerEvent } from '../../lib/training/command/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE_DIR = join(ROOT, 'examples/sklearn');
// The venv the global setup provisioned (infra.sh env names it, wherever FLYWHEEL_TOOLS_DIR puts it).
const PYTHON = process.env.FLYWHEEL_TRAINERS_PYTHON || getInfra().trainersPython || join(ROOT, '.tools/trainers-venv/bin/python');
const DIM = 5;
const ROWS = { train: 240, validation: 60 } as const;
const OUTPUT = { binary: 'probability', multiclass: 'probabilities', regression: 'value' } as const;
type Kind = keyof typeof OUTPUT;
const CLASSES = ['low', 'mid', 'high'];
/** Small and quick, with a learning rate that moves the weights visibly in a few epochs. */
const HYPERPARAMETERS = { hidden: [8], batch_size: 32, learning_rate: 0.01, seed: 3 };

let root: string;
let tempRoot: string;
let store: LocalArtifactStore;

// ---- .npy files (the writer is the cycle's own; the reader takes what numpy.save writes) ----

function readNpyFloat32(bytes: Buffer): { data: Float32Array; shape: number[] } {
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy file');
  const major = bytes.readUInt8(6);
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`unexpected .npy header ${header}`);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const body = bytes.subarray(start + headerLength);
  return { data: new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength)), shape };
}

// ---- synthetic data ----------------------------------------------------------------------------

/** mulberry32: a seeded generator, so every run of the test trains on the same rows. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function synthesize(kind: Kind, rows: number, seed: number): { features: Float32Array; labels: Float32Array } {
  const next = random(seed);
  const features = new Float32Array(rows * DIM);
  const labels = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < DIM; c++) features[r * DIM + c] = next() * 2 - 1;
    const [a = 0, b = 0, c = 0] = features.subarray(r * DIM, r * DIM + 3);
    const signal = 1.5 * a - b + 0.5 * c;
    labels[r] =
      kind === 'binary' ? Number(signal > 0) : kind === 'multiclass' ? (signal < -0.5 ? 0 : signal < 0.5 ? 1 : 2) : 3 * signal + 1;
  }
  return { features, labels };
}

/** Writes train/ and validation/ folders and task.json under `data/<kind>`; returns the inputs. */
async function writeInputs(kind: Kind): Promise<{ inputs: Record<string, string>; validationFeatures: Float32Array }> {
  const base = `data/${kind}`;
  let validationFeatures: Float32Array = new Float32Array();
  for (const [split, seed] of [
    ['train', 11],
    ['validation', 12],
  ] as const) {
    const { features, labels } = synthesize(kind, ROWS[split], seed);
    await store.put(`${base}/${split}/features.npy`, encodeNpyFloat32(features, [ROWS[split], DIM]));
    await store.put(`${base}/${split}/labels.npy`, encodeNpyFloat32(labels, [ROWS[split]]));
    if (split === 'validation') validationFeatures = features;
  }
  const task = {
    kind,
    ...(kind === 'multiclass' ? { classes: CLASSES } : {}),
    inputDim: DIM,
    output: OUTPUT[kind],
    featureNames: Array.from({ length: DIM }, (_, i) => `f${i}`),
  };
  const taskInfo = await store.put(`${base}/task.json`, JSON.stringify(task));
  return {
    inputs: { train: store.uriFor(`${base}/train`), validation: store.uriFor(`${base}/validation`), task: taskInfo.uri },
    validationFeatures,
  };
}

// ---- running the script ------------------------------------------------------------------------

/** As the worker runs it: `python3 train.py` in the example's folder, the venv's bin first on PATH
 * (the worker's FLYWHEEL_TRAINER_PATH). */
async function train(
  runKey: string,
  inputs: Record<string, string>,
  hyperparameters: Record<string, unknown>,
  extra: { resumeFrom?: string; signal?: AbortSignal; onEvent?: (e: TrainerEvent) => void } = {},
): Promise<CommandTrainerResult> {
  // Every test fails (none is skipped) when the venv is missing: it is part of the provisioned setup.
  if (!existsSync(PYTHON)) {
    throw new Error(
      `the trainers venv is missing: no ${PYTHON}. Provision it with \`bash infra/scripts/infra.sh provision trainers\` ` +
        '(or point FLYWHEEL_TRAINERS_PYTHON at a python with examples/sklearn/requirements.txt installed)',
    );
  }
  return runCommandTrainer({
    command: ['python3', 'train.py'],
    cwd: EXAMPLE_DIR,
    pathPrefix: dirname(PYTHON),
    store,
    runKey,
    inputs,
    hyperparameters,
    tempRoot,
    logger: silentLogger(),
    ...extra,
  });
}

async function output(runKey: string, file: string): Promise<Buffer> {
  return store.get(`${runKey}/output/${file}`);
}

async function onnxScores(model: Buffer, features: Float32Array): Promise<Float32Array> {
  const session = await OnnxSession.create(model);
  try {
    return await session.run(features, features.length / DIM);
  } finally {
    await session.dispose();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'flywheel-sklearn-trainer-test-'));
  tempRoot = join(root, 'tmp');
  await mkdir(tempRoot);
  store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('examples/sklearn/train.py under runCommandTrainer', () => {
  const metricOf: Record<Kind, string> = { binary: 'val_auc', multiclass: 'val_accuracy', regression: 'val_rmse' };

  for (const kind of ['binary', 'multiclass', 'regression'] as const) {
    it(`${kind}: exports model.onnx with input features and output ${OUTPUT[kind]}, scoring like the estimator`, async () => {
      const { inputs, validationFeatures } = await writeInputs(kind);
      const runKey = `training/sklearn-${kind}/run-1`;
      const result = await train(runKey, inputs, { ...HYPERPARAMETERS, epochs: 3 });

      // One checkpoint per epoch, each reported once stored, and a progress line per epoch.
      const checkpoints = result.events.filter((e) => e.type === 'checkpoint');
      expect(checkpoints.map((e) => e.epoch)).toEqual([1, 2, 3]);
      expect(result.events.filter((e) => e.type === 'progress').map((e) => Object.keys(e.metrics))).toEqual(
        Array(3).fill(expect.arrayContaining(['loss', metricOf[kind]])),
      );
      expect(result.metrics[metricOf[kind]]).toEqual(expect.any(Number));
      expect(result.outputFiles.map((u) => u.slice(u.lastIndexOf('/') + 1)).sort()).toEqual([
        'metrics.json',
        'model.onnx',
        'validation_predictions.npy',
      ]);

      // The graph's interface, exactly: one float32 input `features`, one output named by the task;
      // and the check the cycle runs before it stores a command trainer's model passes.
      const model = await output(runKey, 'model.onnx');
      const units = kind === 'multiclass' ? CLASSES.length : 1;
      await checkModelSignature(model, { inputDim: DIM, output: OUTPUT[kind], units, kind: OUTPUT[kind] });
      const raw = await InferenceSession.create(model);
      try {
        expect(raw.inputNames).toEqual(['features']);
        expect(raw.outputNames).toEqual([OUTPUT[kind]]);
        const probe = await raw.run({ features: new Tensor('float32', validationFeatures.slice(0, 2 * DIM), [2, DIM]) });
        expect(probe[OUTPUT[kind]]?.dims).toEqual([2, units]);
        expect(probe[OUTPUT[kind]]?.type).toBe('float32');
      } finally {
        await raw.release();
      }

      // Flywheel's own session scores the validation rows as the estimator did (the script saved
      // its predict_proba / predict output).
      const reported = readNpyFloat32(await output(runKey, 'validation_predictions.npy'));
      expect(reported.shape).toEqual([ROWS.validation, units]);
      const scores = await onnxScores(model, validationFeatures);
      expect(maxAbsDiff(scores, reported.data)).toBeLessThanOrEqual(1e-5);
      if (kind === 'multiclass') {
        for (let r = 0; r < ROWS.validation; r++) {
          expect(scores[r * 3]! + scores[r * 3 + 1]! + scores[r * 3 + 2]!).toBeCloseTo(1, 5);
        }
      }
    });
  }

  it('a run stopped after its second checkpoint resumes to the same final model as an unstopped run', async () => {
    const { inputs, validationFeatures } = await writeInputs('multiclass');
    // The delay keeps the run inside epoch 3 (or its pause) when the stop lands.
    const hyperparameters = { ...HYPERPARAMETERS, epochs: 6, epoch_delay_s: 0.4 };

    const stoppedKey = 'training/sklearn-resume/stopped';
    const controller = new AbortController();
    const seen: TrainerEvent[] = [];
    const stopped = train(stoppedKey, inputs, hyperparameters, {
      signal: controller.signal,
      onEvent: (e) => {
        seen.push(e);
        if (seen.filter((s) => s.type === 'checkpoint').length === 2) controller.abort(new Error('preempted'));
      },
    });
    await expect(stopped).rejects.toThrow('preempted');
    expect(seen.some((e) => e.type === 'done')).toBe(false);
    const secondStep = seen.filter((e) => e.type === 'checkpoint')[1]!.step;

    const { uri: resumeFrom, manifest } = await latestCheckpoint(store, stoppedKey);
    expect(resumeFrom).toBeDefined();
    // The SIGTERM checkpoint (mid-epoch) when the stop landed in training, else epoch 2's.
    expect(manifest!.step).toBeGreaterThanOrEqual(secondStep);
    expect(manifest!.epoch).toBeLessThan(6);

    const resumed = await train(stoppedKey, inputs, hyperparameters, { resumeFrom: resumeFrom! });
    const resumedCheckpoints = resumed.events.filter((e) => e.type === 'checkpoint');
    expect(resumedCheckpoints[0]!.step).toBeGreaterThan(manifest!.step); // it carried on; it did not start over
    expect(resumedCheckpoints.at(-1)!.epoch).toBe(6);

    const freshKey = 'training/sklearn-resume/unstopped';
    const fresh = await train(freshKey, inputs, hyperparameters);
    expect(fresh.events.filter((e) => e.type === 'checkpoint').at(-1)!.step).toBe(resumedCheckpoints.at(-1)!.step);

    const resumedScores = await onnxScores(await output(stoppedKey, 'model.onnx'), validationFeatures);
    const freshScores = await onnxScores(await output(freshKey, 'model.onnx'), validationFeatures);
    expect(maxAbsDiff(resumedScores, freshScores)).toBeLessThanOrEqual(1e-6);
    const resumedReported = readNpyFloat32(await output(stoppedKey, 'validation_predictions.npy'));
    const freshReported = readNpyFloat32(await output(freshKey, 'validation_predictions.npy'));
    expect(maxAbsDiff(resumedReported.data, freshReported.data)).toBeLessThanOrEqual(1e-6);
    expect(resumed.metrics.val_accuracy).toBe(fresh.metrics.val_accuracy);
  });
});
