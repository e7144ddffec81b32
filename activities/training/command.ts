// The command-trainer activities: run an external training command under the protocol, turn its
// progress and checkpoint events into heartbeats, resume from the heartbeat's checkpoint (or the
// newest intact one in storage) on a retry, and on cancellation or a preemption notice stop the
// command's whole process group. Protocol errors are permanent; a failing exit retries.
// `trainWithCommand` is the protocol alone; `trainCommandModel` is the cycle's `command` trainer:
// it hands the command the encoded splits and checks and stamps the model it writes.
import { Context } from '@temporalio/activity';
import type { Logger } from '../../lib/log.ts';
import { loadModelIO } from '../../lib/features/tabular/model-io.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import { latestCheckpoint, runCommandTrainer, TrainerProtocolError, type CommandTrainerOptions } from '../../lib/training/command/index.ts';
import { externalResult, storeExternalModel, writeCycleInputs } from '../../lib/training/external.ts';
import { PreemptedError, type Preemption } from '../../lib/training/preemption.ts';
import { noCheckpointWatch, type CheckpointWatch } from '../../lib/training/checkpoint-watch.ts';
import { captureSystemInfo } from '../../lib/tracking/system.ts';
import { epochCollector } from '../../lib/tracking/epochs.ts';
import { refusingOverwrites, runOwner } from './write-once.ts';
import { withHeartbeats, type Heartbeats } from './heartbeats.ts';
import type {
  CommandModelInput,
  CommandTrainInput,
  CommandTrainResult,
  ExternalModelResult,
  TrainHeartbeat,
} from '../../lib/contracts/train-model.ts';

export interface CommandTrainingDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  logger: Logger;
  identity: string;
  preemption: Preemption;
  /** Folders put first on every command's PATH (FLYWHEEL_TRAINER_PATH: a venv's `bin`). */
  trainerPath?: string;
  /** How often the activity beats when the command says nothing. @default 5000 */
  keepAliveMs?: number;
  /** Told when a run starts, checkpoints and ends (the worker's checkpoint-age metric). @default none */
  checkpointWatch?: CheckpointWatch;
}

type RunOptions = Pick<
  CommandTrainerOptions,
  'command' | 'inputs' | 'hyperparameters' | 'killGraceMs' | 'cwd' | 'env' | 'passEnv' | 'pathPrefix'
> & { runKey: string };

/** Runs the command with heartbeats and resumption; a preemption notice becomes PreemptedError. */
async function supervised(deps: CommandTrainingDeps, options: RunOptions, beats: Heartbeats): Promise<CommandTrainResult> {
  const ctx = Context.current();
  const details = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
  const search = details?.checkpointUri ? { uri: details.checkpointUri, skipped: [] } : await latestCheckpoint(deps.store, options.runKey);
  for (const s of search.skipped) deps.logger.warn({ uri: s.uri, reason: s.reason }, 'skipping a corrupt checkpoint');
  if (search.uri) deps.logger.info({ runKey: options.runKey, resumeFrom: search.uri }, 'resuming the training command');
  let lastCheckpointUri = search.uri;
  const stop = AbortSignal.any([ctx.cancellationSignal, deps.preemption.signal]);
  const watched = (deps.checkpointWatch ?? noCheckpointWatch).run(options.runKey, { resumed: Boolean(search.uri) });
  const epochs = epochCollector();
  try {
    const result = await runCommandTrainer({
      ...options,
      store: deps.store,
      ...(search.uri ? { resumeFrom: search.uri } : {}),
      signal: stop,
      logger: deps.logger,
      onEvent: (e) => {
        if (e.type === 'checkpoint') {
          lastCheckpointUri = e.checkpointUri;
          watched.written();
        }
        if (e.type === 'done') return;
        epochs.add(e.epoch, e.metrics);
        beats.beat({
          ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
          epoch: e.epoch ?? 0,
          step: e.step ?? 0,
          metrics: e.metrics,
        });
      },
    });
    return {
      runKey: options.runKey,
      outputUri: result.outputUri,
      outputFiles: result.outputFiles,
      metrics: result.metrics,
      lastCheckpointUri: result.lastCheckpointUri ?? null,
      resumedFrom: search.uri ?? null,
      skippedCheckpoints: search.skipped,
      epochs: epochs.list(),
    };
  } catch (err) {
    if (deps.preemption.signal.aborted && !ctx.cancellationSignal.aborted)
      throw new PreemptedError(deps.identity, lastCheckpointUri ?? null);
    throw err;
  } finally {
    watched.end();
  }
}

export function createCommandTrainingActivities(deps: CommandTrainingDeps) {
  return {
    async trainWithCommand(input: CommandTrainInput): Promise<CommandTrainResult> {
      return withHeartbeats(deps.keepAliveMs, (beats) =>
        supervised(
          deps,
          {
            runKey: input.runKey,
            command: input.command,
            inputs: input.inputs,
            hyperparameters: input.hyperparameters ?? {},
            ...(input.killGraceMs ? { killGraceMs: input.killGraceMs } : {}),
            ...(deps.trainerPath ? { pathPrefix: deps.trainerPath } : {}),
          },
          beats,
        ),
      );
    },

    async trainCommandModel(input: CommandModelInput): Promise<ExternalModelResult> {
      return withHeartbeats(deps.keepAliveMs, (beats) => refusingOverwrites(() => trainCommandModel(input, beats)));
    },
  };

  async function trainCommandModel(input: CommandModelInput, beats: Heartbeats): Promise<ExternalModelResult> {
    const startedAt = new Date().toISOString();
    const { trainer } = input;
    const io = await loadModelIO(deps.store, input.featureSpecUri);
    const inputs = await writeCycleInputs(
      deps.store,
      { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) },
      input.runKey,
      io,
      { trainUri: input.trainUri, validationUri: input.validationUri, ...(input.limitRows ? { limitRows: input.limitRows } : {}) },
      deps.logger,
    );
    const run = await supervised(
      deps,
      {
        runKey: input.runKey,
        command: trainer.command,
        ...(trainer.workingDir ? { cwd: trainer.workingDir } : {}),
        inputs: { train: inputs.train, validation: inputs.validation, task: inputs.task },
        hyperparameters: trainer.hyperparameters,
        killGraceMs: trainer.killGraceMs,
        env: trainer.env.set,
        passEnv: trainer.env.pass,
        ...(deps.trainerPath ? { pathPrefix: deps.trainerPath } : {}),
      },
      beats,
    );
    const modelKey = `${input.runKey}/output/model.onnx`;
    if (!(await deps.store.stat(modelKey)))
      throw new TrainerProtocolError(
        `the command finished without writing model.onnx to FLYWHEEL_OUTPUT_DIR (it wrote ${run.outputFiles.length} other files)`,
      );
    const modelUri = await storeExternalModel(
      deps.store,
      input.runKey,
      await deps.store.get(modelKey),
      io,
      { datasetVersion: input.datasetVersion, trainer: `command:${trainer.command.join(' ')}`.slice(0, 512) },
      runOwner(),
    );
    const result = externalResult(input, io, {
      trainer: 'command',
      modelUri,
      identity: deps.identity,
      hyperparameters: trainer.hyperparameters,
      lineage: { command: trainer.command },
      metrics: run.metrics,
      resumedFrom: run.resumedFrom,
      lastCheckpointUri: run.lastCheckpointUri,
      skippedCheckpoints: run.skippedCheckpoints,
    });
    return { ...result, system: await captureSystemInfo(deps.identity, 'command'), startedAt, epochs: run.epochs ?? [] };
  }
}

export type CommandTrainingActivities = ReturnType<typeof createCommandTrainingActivities>;
