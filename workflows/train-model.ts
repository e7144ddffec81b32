// trainModel: one training run of one model on one dataset version, routed by the resources it
// declares (GPU queue unless `resources.gpu` is false), with the trainer the spec names: the
// built-in TF.js MLP, the user's command (docs/command-trainer.md), or an ONNX file imported and
// checked. Crashes and errors retry on the activity's policy; preemptions (the typed `Preempted`
// failure) have their own budget here, and after `switchAfter` of them the run moves to an
// on-demand queue when one is configured.
import { ActivityFailure, ApplicationFailure, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CommandTrainingActivities } from '../activities/training/command.ts';
import type { ImportActivities } from '../activities/training/import.ts';
import type { TrainingActivities } from '../activities/training/index.ts';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import type { TrainModelInput, TrainModelResult } from '../lib/contracts/train-model.ts';

function trainingOn(taskQueue: string) {
  return proxyActivities<TrainingActivities & CommandTrainingActivities & ImportActivities>({
    taskQueue,
    startToCloseTimeout: '4 hours',
    // Short, so a dead worker is noticed quickly; the activity beats at least once a second.
    heartbeatTimeout: '20 seconds',
    retry: {
      maximumAttempts: 5,
      initialInterval: '1 second',
      nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES, FAILURE_TYPES.Preempted],
    },
  });
}

function isPreempted(err: unknown): boolean {
  return err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === FAILURE_TYPES.Preempted;
}

export async function trainModel(input: TrainModelInput): Promise<TrainModelResult> {
  const { model: _model, resources, preemption, trainer, ...job } = input;
  const runKey = `training/${workflowInfo().workflowId}`;
  const maxPreemptions = preemption?.maxPreemptions ?? 5;
  const switchAfter = preemption?.switchAfter ?? 2;
  let taskQueue: string = resources?.gpu === false ? TASK_QUEUES.cpu : TASK_QUEUES.gpu;
  const taskQueues = [taskQueue];
  let preemptions = 0;
  for (;;) {
    try {
      const activities = trainingOn(taskQueue);
      const result =
        trainer?.kind === 'command'
          ? await activities.trainCommandModel({ ...job, runKey, trainer })
          : trainer?.kind === 'onnx'
            ? await activities.importOnnxModel({ ...job, runKey, modelUri: trainer.modelUri })
            : await activities.trainFlightsMlp({ ...job, runKey });
      return { ...result, preemptions, taskQueues };
    } catch (err) {
      if (!isPreempted(err)) throw err;
      preemptions++;
      log.warn('training preempted', { preemptions, taskQueue });
      if (preemptions > maxPreemptions) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.PreemptionBudgetExhausted,
          message: `preempted ${preemptions} times (budget ${maxPreemptions})`,
          nonRetryable: true,
          details: [{ summary: `preempted ${preemptions} times`, runKey }],
        });
      }
      if (preemption?.onDemandQueue && preemptions >= switchAfter && taskQueue !== preemption.onDemandQueue) {
        taskQueue = preemption.onDemandQueue;
        taskQueues.push(taskQueue);
      }
    }
  }
}
