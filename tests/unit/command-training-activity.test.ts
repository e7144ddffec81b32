// The command-trainer activity: heartbeats carry the stored checkpoint, a retry (attempt with
// heartbeat details) resumes from it, a preemption notice stores a last checkpoint and fails with
// a retryable Preempted, and activity cancellation stops the command.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCommandTrainingActivities } from '../../activities/training/command.ts';
import { silentLogger } from '../../lib/log.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import type { CommandTrainInput, CommandTrainResult, TrainHeartbeat } from '../../lib/contracts/train-model.ts';

const FAKE = ['python3', fileURLToPath(new URL('../fixtures/trainers/fake_trainer.py', import.meta.url))];
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let store: LocalArtifactStore;
let inputs: Record<string, string>;

beforeAll(async () => {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-cmd-act-'));
  store = await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString());
  inputs = {
    train: (await store.put('data/train.csv', 'a,b\n1,2\n3,4\n')).uri,
    featureSpec: (await store.put('data/spec.json', JSON.stringify({ kind: 'flights-v1' }))).uri,
  };
});

function acts(preempt = new AbortController()) {
  return createCommandTrainingActivities({
    store,
    logger: silentLogger(),
    identity: 'gpu-test',
    preemption: { signal: preempt.signal, dispose: () => undefined },
  });
}

function run(a: ReturnType<typeof acts>, input: CommandTrainInput, env = new MockActivityEnvironment(undefined, { logger: quiet })) {
  return env.run(a.trainWithCommand, input) as Promise<CommandTrainResult>;
}

describe('trainWithCommand activity', () => {
  it('heartbeats checkpoints and, on a retry, resumes from the heartbeat checkpoint', async () => {
    const beats: TrainHeartbeat[] = [];
    const env = new MockActivityEnvironment(undefined, { logger: quiet });
    env.on('heartbeat', (d: unknown) => beats.push(d as TrainHeartbeat));
    const first = await run(
      acts(),
      { runKey: 'cmd/a', command: FAKE, inputs, hyperparameters: { total_steps: 8, checkpoint_every: 3 } },
      env,
    );
    expect(first.resumedFrom).toBeNull();
    const withCkpt = beats.filter((b) => b.checkpointUri);
    expect(withCkpt.at(-1)?.checkpointUri).toBe(store.uriFor('cmd/a/checkpoints/step-0000000006'));

    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: withCkpt.at(-1) }, { logger: quiet });
    const second = await run(
      acts(),
      { runKey: 'cmd/a', command: FAKE, inputs, hyperparameters: { total_steps: 8, checkpoint_every: 3 } },
      retry,
    );
    expect(second.resumedFrom).toBe(withCkpt.at(-1)!.checkpointUri);
    expect(second.metrics).toMatchObject({ total: 36, stepsRun: 2 });
  }, 30_000);

  it('on a preemption notice stores a last checkpoint and fails with a retryable Preempted', async () => {
    const preempt = new AbortController();
    // The worker's interceptor turns the activity's PreemptedError into the failure workflows see.
    const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
    env.on('heartbeat', (d: unknown) => (d as TrainHeartbeat).step >= 5 && preempt.abort(new Error('SIGTERM')));
    const err = await run(
      acts(preempt),
      {
        runKey: 'cmd/b',
        command: FAKE,
        inputs,
        hyperparameters: { total_steps: 50, checkpoint_every: 100, step_seconds: 0.05, checkpoint_on_term: true },
      },
      env,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ type: 'Preempted', nonRetryable: false });
    const resumed = await run(acts(), {
      runKey: 'cmd/b',
      command: FAKE,
      inputs,
      hyperparameters: { total_steps: 50, checkpoint_every: 100 },
    });
    expect(resumed.resumedFrom).toMatch(/cmd\/b\/checkpoints\/step-000000000[5-9]$/);
  }, 30_000);

  it('stops the command when the activity is cancelled', async () => {
    const env = new MockActivityEnvironment(undefined, { logger: quiet });
    const started = Date.now();
    env.on('heartbeat', () => env.cancel());
    const err = await run(
      acts(),
      { runKey: 'cmd/c', command: FAKE, inputs, hyperparameters: { total_steps: 1000, step_seconds: 0.05 }, killGraceMs: 2000 },
      env,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 30_000);
});
