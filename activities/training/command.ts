// The command-trainer activity: runs an external training command under the protocol, turns its
// progress and checkpoint events into heartbeats, resumes from the heartbeat's checkpoint (or the
// newest intact one in storage) on a retry, and on cancellation or a preemption notice stops
// the command's whole process group. Protocol errors are permanent; a failing exit retries.
import { Context } from '@temporalio/activity';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { latestCheckpoint, runCommandTrainer } from '../../lib/training/command/index.ts';
import { PreemptedError, type Preemption } from '../../lib/training/preemption.ts';
import type { CommandTrainInput, CommandTrainResult, TrainHeartbeat } from '../../lib/contracts/train-model.ts';

export interface CommandTrainingDeps {
  store: ArtifactStore;
  logger: Logger;
  identity: string;
  preemption: Preemption;
}

export function createCommandTrainingActivities(deps: CommandTrainingDeps) {
  return {
    async trainWithCommand(input: CommandTrainInput): Promise<CommandTrainResult> {
      const ctx = Context.current();
      const details = ctx.info.heartbeatDetails as TrainHeartbeat | undefined;
      const search = details?.checkpointUri
        ? { uri: details.checkpointUri, skipped: [] }
        : await latestCheckpoint(deps.store, input.runKey);
      for (const s of search.skipped) deps.logger.warn({ uri: s.uri, reason: s.reason }, 'skipping a corrupt checkpoint');
      let lastCheckpointUri = search.uri;
      const stop = AbortSignal.any([ctx.cancellationSignal, deps.preemption.signal]);
      try {
        const result = await runCommandTrainer({
          command: input.command,
          store: deps.store,
          runKey: input.runKey,
          inputs: input.inputs,
          hyperparameters: input.hyperparameters ?? {},
          ...(search.uri ? { resumeFrom: search.uri } : {}),
          ...(input.killGraceMs ? { killGraceMs: input.killGraceMs } : {}),
          signal: stop,
          logger: deps.logger,
          onEvent: (e) => {
            if (e.type === 'checkpoint') lastCheckpointUri = e.checkpointUri;
            if (e.type === 'done') return;
            ctx.heartbeat({
              ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
              epoch: e.epoch ?? 0,
              step: e.step ?? 0,
              metrics: e.metrics,
            } satisfies TrainHeartbeat);
          },
        });
        return {
          runKey: input.runKey,
          outputUri: result.outputUri,
          outputFiles: result.outputFiles,
          metrics: result.metrics,
          lastCheckpointUri: result.lastCheckpointUri ?? null,
          resumedFrom: search.uri ?? null,
          skippedCheckpoints: search.skipped,
        };
      } catch (err) {
        if (deps.preemption.signal.aborted && !ctx.cancellationSignal.aborted)
          throw new PreemptedError(deps.identity, lastCheckpointUri ?? null);
        throw err;
      }
    },
  };
}

export type CommandTrainingActivities = ReturnType<typeof createCommandTrainingActivities>;
