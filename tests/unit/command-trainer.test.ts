// The command-trainer protocol end to end with real child processes (small Python fixtures) and a
// local-folder artifact store: events, checkpoints with manifests, resume, failure, cancellation.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, silentLogger } from '../../lib/log.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import {
  latestCheckpoint,
  runCommandTrainer,
  TrainerExitError,
  TrainerProtocolError,
  type CheckpointManifest,
  type CommandTrainerOptions,
  type TrainerEvent,
} from '../../lib/training/command/index.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/trainers/', import.meta.url));
const FAKE_TRAINER = ['python3', join(FIXTURES, 'fake_trainer.py')];
const RUN_KEY = 'training/flights/run-abc';

let root: string;
let storeRoot: string;
let tempRoot: string;
let store: LocalArtifactStore;
let inputs: Record<string, string>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'flywheel-cmd-trainer-test-'));
  storeRoot = join(root, 'store');
  tempRoot = join(root, 'tmp');
  await mkdir(tempRoot);
  store = await LocalArtifactStore.create(pathToFileURL(storeRoot).toString());
  const train = await store.put(
    'datasets/flights/v1/train.csv',
    'date,distance,origin,destination,delay\n2001-01-01T08:00:00,300,SFO,LAX,3\n2001-01-01T09:00:00,400,SFO,SEA,30\n',
  );
  const spec = await store.put('datasets/flights/v1/feature-spec.json', JSON.stringify({ kind: 'flights-v1' }));
  inputs = { train: train.uri, featureSpec: spec.uri };
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function options(overrides: Partial<CommandTrainerOptions> = {}): CommandTrainerOptions {
  return { command: FAKE_TRAINER, store, runKey: RUN_KEY, inputs, tempRoot, logger: silentLogger(), ...overrides };
}

async function manifestOf(checkpointUri: string): Promise<CheckpointManifest> {
  return JSON.parse((await store.get(`${store.keyFor(checkpointUri)}/manifest.json`)).toString('utf8')) as CheckpointManifest;
}

/** Alive and not a zombie (an orphan's zombie lingers where PID 1 does not reap). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

describe('runCommandTrainer', () => {
  it('passes inputs and hyperparameters, reports events, stores checkpoints with manifests and uploads the output', async () => {
    const seen: TrainerEvent[] = [];
    const logs = new PassThrough();
    const logLines: string[] = [];
    logs.on('data', (chunk: Buffer) => logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));

    const result = await runCommandTrainer(
      options({
        hyperparameters: { total_steps: 10, checkpoint_every: 4, lr: 0.01 },
        onEvent: (e) => seen.push(e),
        logger: createLogger({ level: 'debug', destination: logs }),
      }),
    );

    expect(seen).toEqual(result.events);
    expect(seen.filter((e) => e.type === 'progress').map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const checkpoints = seen.filter((e) => e.type === 'checkpoint');
    expect(checkpoints.map((e) => [e.step, e.checkpointUri])).toEqual([
      [4, store.uriFor(`${RUN_KEY}/checkpoints/step-0000000004`)],
      [8, store.uriFor(`${RUN_KEY}/checkpoints/step-0000000008`)],
    ]);
    expect(seen.at(-1)).toEqual({ type: 'done', metrics: { total: 55, trainRows: 2, stepsRun: 10 } });
    expect(result.metrics).toEqual({ total: 55, trainRows: 2, stepsRun: 10 });
    expect(result.lastCheckpointUri).toBe(store.uriFor(`${RUN_KEY}/checkpoints/step-0000000008`));

    const manifest = await manifestOf(result.lastCheckpointUri!);
    expect(manifest).toMatchObject({ version: 1, step: 8, epoch: 0, metrics: { total: 36 } });
    expect(manifest.files.map((f) => f.path)).toEqual(['nested/weights.bin', 'state.json']);
    for (const file of manifest.files) {
      const info = await store.stat(`${RUN_KEY}/checkpoints/step-0000000008/${file.path}`);
      expect(info?.sha256).toBe(file.sha256);
      expect(info?.size).toBe(file.size);
    }

    expect(result.outputUri).toBe(store.uriFor(`${RUN_KEY}/output`));
    expect(result.outputFiles).toEqual([store.uriFor(`${RUN_KEY}/output/extra/notes.txt`), store.uriFor(`${RUN_KEY}/output/model.json`)]);
    const model = JSON.parse((await store.get(`${RUN_KEY}/output/model.json`)).toString('utf8')) as Record<string, unknown>;
    expect(model).toEqual({
      total: 55,
      trainRows: 2,
      kind: 'flights-v1',
      hyperparameters: { total_steps: 10, checkpoint_every: 4, lr: 0.01 },
    });

    // Non-event stdout lines (including malformed JSON) are debug logs, not crashes.
    const stdoutLogs = logLines
      .map((l) => JSON.parse(l) as { level: number; stream?: string; line?: string })
      .filter((l) => l.stream === 'stdout');
    expect(stdoutLogs.map((l) => l.line)).toEqual([
      'this is a plain log line',
      '{"type": "progress", "step": broken json',
      '{"kind": "not an event"}',
    ]);
    expect(stdoutLogs.every((l) => l.level === 20)).toBe(true);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('resumes from the newest stored checkpoint and continues from its step', async () => {
    const first = await runCommandTrainer(options({ hyperparameters: { total_steps: 10, checkpoint_every: 4 } }));
    const found = await latestCheckpoint(store, RUN_KEY);
    expect(found).toMatchObject({ uri: first.lastCheckpointUri, skipped: [] });
    expect(found.manifest?.step).toBe(8);

    const second = await runCommandTrainer(options({ hyperparameters: { total_steps: 12, checkpoint_every: 4 }, resumeFrom: found.uri! }));
    const steps = second.events.flatMap((e) => (e.type === 'progress' ? [e.step] : []));
    expect(steps).toEqual([9, 10, 11, 12]);
    // 1 + … + 12 = 78 only if the checkpointed running sum (36 at step 8) came back intact.
    expect(second.metrics).toEqual({ total: 78, trainRows: 2, stepsRun: 4 });
    expect(second.lastCheckpointUri).toBe(store.uriFor(`${RUN_KEY}/checkpoints/step-0000000012`));
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('rejects with the exit code and the stderr tail when the command fails', async () => {
    const error = await runCommandTrainer(options({ hyperparameters: { fail_at_step: 3 }, stderrTailLines: 5 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerExitError);
    const exit = error as TrainerExitError;
    expect(exit.exitCode).toBe(3);
    expect(exit.stderrTail).toEqual(['noise 56', 'noise 57', 'noise 58', 'noise 59', 'boom: simulated failure at step 3']);
    expect(exit.message).toMatch(/exited with code 3; last stderr lines:\n(.|\n)*boom: simulated failure at step 3$/);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('rejects exit 0 without a done event as a protocol error', async () => {
    const error = await runCommandTrainer(options({ hyperparameters: { total_steps: 2, skip_done: true } })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerProtocolError);
    expect((error as Error).message).toBe('the command exited with code 0 without printing a done event');
  });

  it('on abort kills the whole process group and rejects promptly with the abort reason', async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    const reason = new Error('activity cancelled');
    const started = Date.now();
    const run = runCommandTrainer(
      options({
        command: ['python3', join(FIXTURES, 'sleeper.py')],
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type !== 'progress') return;
          pids.push(e.metrics.pid!, e.metrics.grandchildPid!);
          controller.abort(reason);
        },
      }),
    );
    await expect(run).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5000); // well inside the default 10 s grace
    expect(pids).toHaveLength(2);
    expect(await waitUntil(async () => !(await isAlive(pids[0]!)) && !(await isAlive(pids[1]!)), 2000)).toBe(true);
    expect(await readdir(tempRoot)).toEqual([]);
  });

  it('SIGKILLs the group after killGraceMs when the command ignores SIGTERM', async () => {
    const controller = new AbortController();
    const pids: number[] = [];
    const started = Date.now();
    const run = runCommandTrainer(
      options({
        command: ['python3', join(FIXTURES, 'sleeper.py'), '--ignore-term'],
        signal: controller.signal,
        killGraceMs: 300,
        onEvent: (e) => {
          if (e.type !== 'progress') return;
          pids.push(e.metrics.pid!, e.metrics.grandchildPid!);
          controller.abort(new Error('stop'));
        },
      }),
    );
    await expect(run).rejects.toThrow('stop');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(await waitUntil(async () => !(await isAlive(pids[0]!)) && !(await isAlive(pids[1]!)), 2000)).toBe(true);
  });

  it('stores the checkpoint a command saves on SIGTERM before rejecting', async () => {
    const controller = new AbortController();
    const run = runCommandTrainer(
      options({
        hyperparameters: { total_steps: 100_000, checkpoint_every: 1000, step_seconds: 0.01, checkpoint_on_term: true },
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'progress' && e.step === 5) controller.abort(new Error('preempted'));
        },
      }),
    );
    await expect(run).rejects.toThrow('preempted');
    const found = await latestCheckpoint(store, RUN_KEY);
    expect(found.manifest?.step).toBeGreaterThanOrEqual(5);
    expect(found.manifest?.step).toBeLessThan(1000);
  });

  it('rejects a checkpoint event that names no folder as a protocol error', async () => {
    const script = join(root, 'bad.py');
    await writeFile(script, 'print(\'{"type":"checkpoint","step":1,"dir":"missing"}\', flush=True)\nimport time; time.sleep(30)\n');
    const error = await runCommandTrainer(options({ command: ['python3', script], killGraceMs: 2000 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainerProtocolError);
    expect((error as Error).message).toBe('checkpoint event names "missing", which is not a folder in FLYWHEEL_CHECKPOINT_DIR');
  });
});

describe('the command environment', () => {
  it('names one variable per input, gives a prefix input as a folder, and passes the protocol folders', async () => {
    await store.put('datasets/flights/v1/parts/a.parquet', 'A');
    await store.put('datasets/flights/v1/parts/sub/b.parquet', 'BB');
    const script = join(root, 'env.py');
    await writeFile(
      script,
      [
        'import json, os',
        "# The protocol variables only: a developer's shell may hold other FLYWHEEL_* settings.",
        'PROTOCOL = ("FLYWHEEL_HYPERPARAMETERS", "FLYWHEEL_CHECKPOINT_DIR", "FLYWHEEL_OUTPUT_DIR", "FLYWHEEL_RESUME_DIR")',
        'env = {k: v for k, v in os.environ.items() if k.startswith("FLYWHEEL_INPUT_") or k in PROTOCOL}',
        'parts = env["FLYWHEEL_INPUT_TRAIN_PARTS"]',
        'files = sorted(os.path.relpath(os.path.join(d, f), parts) for d, _, fs in os.walk(parts) for f in fs)',
        'out = {"names": sorted(env), "spec": open(env["FLYWHEEL_INPUT_FEATURE_SPEC"]).read(), "specFile": os.path.basename(env["FLYWHEEL_INPUT_FEATURE_SPEC"]),',
        '       "files": files, "hp": json.loads(env["FLYWHEEL_HYPERPARAMETERS"]), "empty": [os.listdir(env[k]) for k in ("FLYWHEEL_CHECKPOINT_DIR", "FLYWHEEL_OUTPUT_DIR")]}',
        'open(os.path.join(env["FLYWHEEL_OUTPUT_DIR"], "env.json"), "w").write(json.dumps(out))',
        'print(json.dumps({"type": "done"}))',
      ].join('\n'),
    );
    const result = await runCommandTrainer(
      options({
        command: ['python3', script],
        inputs: { featureSpec: inputs.featureSpec!, 'train-parts': store.uriFor('datasets/flights/v1/parts') },
        env: { FLYWHEEL_RESUME_DIR: '/not/resuming' },
      }),
    );
    expect(result.metrics).toEqual({});
    expect(JSON.parse((await store.get(`${RUN_KEY}/output/env.json`)).toString('utf8'))).toEqual({
      names: [
        'FLYWHEEL_CHECKPOINT_DIR',
        'FLYWHEEL_HYPERPARAMETERS',
        'FLYWHEEL_INPUT_FEATURE_SPEC',
        'FLYWHEEL_INPUT_TRAIN_PARTS',
        'FLYWHEEL_OUTPUT_DIR',
      ],
      spec: '{"kind":"flights-v1"}',
      specFile: 'feature-spec.json',
      files: ['a.parquet', 'sub/b.parquet'],
      hp: {},
      empty: [[], []],
    });
  });

  it('refuses input names that map to the same variable', async () => {
    await expect(
      runCommandTrainer(options({ inputs: { featureSpec: inputs.featureSpec!, 'feature-spec': inputs.featureSpec! } })),
    ).rejects.toThrow('inputs "featureSpec" and "feature-spec" both map to FLYWHEEL_INPUT_FEATURE_SPEC');
  });
});

describe('latestCheckpoint', () => {
  it('skips a corrupt newest checkpoint and an incomplete one, and reports both', async () => {
    await runCommandTrainer(options({ hyperparameters: { total_steps: 12, checkpoint_every: 4 } }));
    const step = (n: number) => store.uriFor(`${RUN_KEY}/checkpoints/step-${String(n).padStart(10, '0')}`);
    // Bytes changed behind the store's back (bit rot, a torn copy) in the newest checkpoint.
    await writeFile(
      join(storeRoot, ...RUN_KEY.split('/'), 'checkpoints', 'step-0000000012', 'nested', 'weights.bin'),
      Buffer.alloc(1024, 7),
    );
    const found = await latestCheckpoint(store, RUN_KEY);
    expect(found.uri).toBe(step(8));
    expect(found.skipped).toEqual([{ uri: step(12), reason: expect.stringContaining('checksum mismatch') as string }]);
    expect(found.skipped[0]!.reason).toContain('nested/weights.bin');

    // An upload that died before its manifest: incomplete, skipped too.
    await store.delete(`${RUN_KEY}/checkpoints/step-0000000008/manifest.json`);
    const again = await latestCheckpoint(store, RUN_KEY);
    expect(again.uri).toBe(step(4));
    expect(again.skipped.map((s) => [s.uri, s.reason])).toEqual([
      [step(12), expect.stringContaining('checksum mismatch')],
      [step(8), 'incomplete: no manifest.json'],
    ]);
  });

  it('finds nothing for a run without checkpoints', async () => {
    expect(await latestCheckpoint(store, 'training/flights/none')).toEqual({ uri: undefined, manifest: undefined, skipped: [] });
  });
});
