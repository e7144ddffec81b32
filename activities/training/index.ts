// Training activities (GPU queue, or CPU when a job needs no GPU). They heartbeat
// {checkpointUri, epoch, step, metrics}, checkpoint to the artifact store on a step/time policy,
// resume from the heartbeat's checkpoint or else the newest intact one in storage, and on a
// preemption notice checkpoint at once and fail with a retryable `Preempted`. `trainFlightsMlp`
// keeps its name (workflow histories hold it) but trains any table and task: the split is encoded
// with the run's fitted features and the head follows their task.
import { Context } from '@temporalio/activity';
import { withDuck } from '../../lib/data/duck.ts';
import type { SourceContext } from '../../lib/data/sources.ts';
import { loadModelIO } from '../../lib/features/tabular/model-io.ts';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import { selectBackend, type TfjsBackend } from '../../lib/training/backend.ts';
import { latestValidCheckpoint, loadCheckpoint, saveCheckpoint } from '../../lib/training/tfjs/checkpoint-store.ts';
import { describeDropped, loadSplit } from '../../lib/training/data.ts';
import { exportRun } from '../../lib/training/export.ts';
import { encodeCheckpoint, type Checkpoint } from '../../lib/training/tfjs/checkpoint-format.ts';
import { trainMlp } from '../../lib/training/tfjs/trainer.ts';
import { compressWithGate, type CompressionOutcome } from '../../lib/training/compression.ts';
import type { MlpModel } from '../../lib/training/tfjs/compress.ts';
import { PreemptedError, type Preemption } from '../../lib/training/preemption.ts';
import { noCheckpointWatch, type CheckpointWatch } from '../../lib/training/checkpoint-watch.ts';
import { captureSystemInfo } from '../../lib/tracking/system.ts';
import { refusingOverwrites, runOwner } from './write-once.ts';
import type { TrainActivityInput, TrainActivityResult, TrainHeartbeat } from '../../lib/contracts/train-model.ts';

export interface TrainingActivityDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  logger: Logger;
  identity: string;
  preemption: Preemption;
  /** @default 'auto' */
  backend?: TfjsBackend;
  /** Told when a run starts, checkpoints and ends (the worker's checkpoint-age metric). @default none */
  checkpointWatch?: CheckpointWatch;
}

async function resumePoint(deps: TrainingActivityDeps, runKey: string, details: TrainHeartbeat | undefined) {
  if (details?.checkpointUri) {
    try {
      return {
        uri: details.checkpointUri,
        checkpoint: await loadCheckpoint(deps.store, details.checkpointUri),
        skipped: [] as Array<{ uri: string; reason: string }>,
      };
    } catch (err) {
      deps.logger.warn({ uri: details.checkpointUri, err: String(err) }, 'the heartbeat checkpoint is unreadable; looking in storage');
    }
  }
  return latestValidCheckpoint(deps.store, runKey, deps.logger);
}

export function createTrainingActivities(deps: TrainingActivityDeps) {
  return {
    async trainFlightsMlp(input: TrainActivityInput): Promise<TrainActivityResult> {
      const ctx = Context.current();
      const startedAt = new Date().toISOString();
      const backend = await selectBackend(deps.backend ?? 'auto', deps.logger);
      const sources: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };
      const io = await loadModelIO(deps.store, input.featureSpecUri);
      const limit = input.limitRows ? { limit: input.limitRows } : {};
      const dropped = (split: string) => (d: Record<string, number>) =>
        deps.logger.warn(
          { runKey: input.runKey, split, dropped: d },
          `rows of classes the features were not fitted with left out: ${describeDropped(d)}`,
        );
      const [train, validation] = await withDuck(async (duck) => [
        await loadSplit(duck, sources, input.trainUri, io, { ...limit, onDropped: dropped('train') }),
        await loadSplit(duck, sources, input.validationUri, io, { ...limit, onDropped: dropped('validation') }),
      ]);
      // A binary run's config stays exactly what it was before tasks (no `task` key), so its
      // checkpoints, and a resume of one written by older code, are unchanged.
      const task = io.task.kind === 'binary' ? undefined : io.task;
      const hyperparameters = { ...(input.hyperparameters ?? {}), ...(task ? { task } : {}) };

      const resume = await resumePoint(deps, input.runKey, ctx.info.heartbeatDetails as TrainHeartbeat | undefined);
      if (resume)
        deps.logger.info(
          { uri: resume.uri, epoch: resume.checkpoint.state.epoch, step: resume.checkpoint.state.globalStep },
          'resuming training',
        );

      const everySteps = input.checkpoint?.everySteps ?? 200;
      const everyMs = input.checkpoint?.everyMs ?? 30_000;
      let lastCheckpointUri = resume?.uri;
      let lastCheckpointStep = resume?.checkpoint.state.globalStep ?? 0;
      let lastCheckpointAt = Date.now();
      let lastBeat = 0;
      const beat = (hb: TrainHeartbeat) => ctx.heartbeat(hb);

      // One signal for both ways a run stops early: Temporal cancellation and the spot notice.
      const stop = AbortSignal.any([ctx.cancellationSignal, deps.preemption.signal]);
      const watched = (deps.checkpointWatch ?? noCheckpointWatch).run(input.runKey, { resumed: Boolean(resume) });
      try {
        const result = await trainMlp(
          hyperparameters,
          train,
          validation,
          {
            signal: stop,
            onStep: (p) => {
              if (Date.now() - lastBeat < 1000) return;
              lastBeat = Date.now();
              beat({
                ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
                epoch: p.epoch,
                step: p.globalStep,
                metrics: { loss: p.loss },
              });
            },
            shouldCheckpoint: (p) => p.globalStep - lastCheckpointStep >= everySteps || Date.now() - lastCheckpointAt >= everyMs,
            onCheckpoint: async (ckpt: Checkpoint) => {
              lastCheckpointUri = await saveCheckpoint(deps.store, input.runKey, ckpt);
              lastCheckpointStep = ckpt.state.globalStep;
              lastCheckpointAt = Date.now();
              watched.written();
              const last = ckpt.state.history.at(-1);
              beat({
                checkpointUri: lastCheckpointUri,
                epoch: ckpt.state.epoch,
                step: ckpt.state.globalStep,
                metrics: last ? { loss: last.loss, valLoss: last.valLoss } : {},
              });
            },
            onEpoch: (e) => deps.logger.info({ runKey: input.runKey, ...e }, 'epoch done'),
          },
          resume?.checkpoint,
        );
        const weights = await deps.store.put(
          `${input.runKey}/weights.ckpt`,
          encodeCheckpoint({
            version: 1,
            config: result.config,
            state: {
              epoch: result.epochsRun,
              stepInEpoch: 0,
              globalStep: result.globalStep,
              epochLossSum: 0,
              rngState: 0,
              epochSeed: 0,
              epochSeedDrawn: false,
              bestValLoss: result.bestValLoss,
              epochsWithoutImprovement: 0,
              history: result.history,
            },
            weights: result.weights,
            optimizer: [],
            best: result.weights,
          }),
        );
        // Compression (spec: trainer.hyperparameters.compression) runs here, inside the activity, so
        // no workflow changes: the exported model is the compressed one when it passed its gate.
        let model: MlpModel = { weights: result.weights, layers: result.layers, hidden: result.config.hidden };
        let compression: CompressionOutcome['report'] | undefined;
        if (result.config.compression) {
          beat({
            ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
            epoch: result.epochsRun,
            step: result.globalStep,
            metrics: {},
          });
          const c = result.config;
          const outcome = await compressWithGate(model, train, validation, c.compression!, {
            epochs: c.epochs,
            batchSize: c.batchSize,
            learningRate: c.learningRate,
            l2: c.l2,
            seed: c.seed,
            classWeight: c.classWeight,
            task: io.task,
            signal: stop,
            // Keeps the activity's heartbeat alive through a long fine-tune (a wide model's epoch).
            onStep: () => {
              if (Date.now() - lastBeat < 1000) return;
              lastBeat = Date.now();
              beat({
                ...(lastCheckpointUri ? { checkpointUri: lastCheckpointUri } : {}),
                epoch: result.epochsRun,
                step: result.globalStep,
                metrics: {},
              });
            },
          });
          model = outcome.model;
          compression = outcome.report;
          deps.logger.info({ runKey: input.runKey, compression }, `compression: ${outcome.report.gate.summary}`);
        }
        const specHash = io.hash;
        const exported = await refusingOverwrites(() =>
          exportRun(
            deps.store,
            input.runKey,
            model.weights,
            model.layers,
            model.hidden,
            train,
            validation,
            {
              featureSpecHash: specHash,
              datasetVersion: input.datasetVersion,
              runKey: input.runKey,
              trainer: 'flywheel-tfjs-mlp',
              task: io.task.kind,
              // Output k is P(classes[k]): the file says so itself, not only its fitted features.
              ...(io.task.kind === 'multiclass' ? { classes: JSON.stringify(io.task.classes) } : {}),
            },
            task,
            runOwner(),
          ),
        );
        return {
          runKey: input.runKey,
          weightsUri: weights.uri,
          modelUri: exported.modelUri,
          int8ModelUri: exported.int8ModelUri,
          featureSpecHash: specHash,
          parity: exported.parity,
          lineage: {
            datasetVersion: input.datasetVersion,
            trainUri: input.trainUri,
            validationUri: input.validationUri,
            featureSpecUri: input.featureSpecUri,
            featureSpecHash: specHash,
            task: io.task.kind,
            // The registry records lineage.hyperparameters as the version's params: with compression,
            // what the exported model is (its hidden layers differ from the teacher's `hidden`).
            hyperparameters: {
              ...result.config,
              ...(compression
                ? {
                    compressionResult: {
                      applied: compression.applied,
                      steps: compression.steps,
                      hidden: model.hidden,
                      sparsity: compression.sparsity,
                      [compression.metric]: { teacher: compression.teacherMetric, compressed: compression.compressedMetric },
                    },
                  }
                : {}),
            },
          },
          task: io.task,
          backend,
          bestValLoss: result.bestValLoss,
          epochsRun: result.epochsRun,
          stoppedEarly: result.stoppedEarly,
          globalStep: result.globalStep,
          history: result.history,
          resumedFrom: resume && result.resumedFrom ? { checkpointUri: resume.uri, ...result.resumedFrom } : null,
          skippedCheckpoints: resume?.skipped ?? [],
          identity: deps.identity,
          system: await captureSystemInfo(deps.identity, `tfjs-${backend}`),
          startedAt,
          ...(compression ? { compression } : {}),
        };
      } catch (err) {
        if (deps.preemption.signal.aborted && !ctx.cancellationSignal.aborted) {
          deps.logger.warn(
            { runKey: input.runKey, checkpointUri: lastCheckpointUri },
            'preempted: checkpoint written, giving the run back',
          );
          throw new PreemptedError(deps.identity, lastCheckpointUri ?? null);
        }
        throw err;
      } finally {
        watched.end();
      }
    },
  };
}

export type TrainingActivities = ReturnType<typeof createTrainingActivities>;
