// modelCycle: one training cycle of one model, a child of its `modelLifecycle`:
// prepare (ingest → validate → profile → features) → train → evaluate (quality gates) →
// register as `challenger` → approval (automatic, or a person within a timeout) → promote to
// `champion` (through a progressive `rollout` child when the spec has steps), then make sure
// the drift monitor runs. Each step's effect is idempotent, so a crash anywhere replays to the same result.
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EvaluationActivities } from '../activities/evaluation/index.ts';
import type { LifecycleActivities } from '../activities/lifecycle/index.ts';
import type { MonitorActivities } from '../activities/monitor/index.ts';
import type { RegistryActivities } from '../activities/registry/index.ts';
import type { TrafficActivities } from '../activities/traffic/index.ts';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import { evaluateJobOf, trainJobOf } from '../lib/model-spec/train-job.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import {
  approvalDecisionSignal,
  approvalOutcomeSchema,
  type ApprovalOutcome,
  type CycleStage,
  type CycleTrigger,
  type ModelCycleInput,
  type ModelCycleResult,
} from '../lib/contracts/model-cycle.ts';
import { approvalRequestedSignal, approvalResolvedSignal, cycleProgressSignal } from '../lib/contracts/model-lifecycle.ts';
import type { PrepareDataResult } from '../lib/contracts/prepare-data.ts';
import type { RolloutResult } from '../lib/contracts/rollout.ts';
import type { TrainModelResult } from '../lib/contracts/train-model.ts';
import { prepareData } from './prepare-data.ts';
import { rollout } from './rollout.ts';
import { trainModel } from './train-model.ts';

const retry = { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] };
// One proxy per step, each with the summary the Web UI shows on the activity.
const cpu = { taskQueue: TASK_QUEUES.cpu, retry };
// The registry steps come after hours of training: they retry through a registry outage, at most
// 30 s apart, for up to an hour, instead of failing the cycle after ~15 s. Non-retryable types
// (NotFound, InvalidConfig, …) still stop at the first attempt.
// They are control work too: the control queue's own slots, never behind a batch job.
const registry = {
  taskQueue: TASK_QUEUES.control,
  scheduleToCloseTimeout: '1 hour',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES],
  },
};
const { evaluateCandidate } = proxyActivities<EvaluationActivities>({
  ...cpu,
  startToCloseTimeout: '30 minutes',
  // The activity beats through the whole scoring (a keep-alive), so a killed worker is noticed
  // within a minute instead of after the 30-minute timeout.
  heartbeatTimeout: '1 minute',
  summary: 'score the candidate and the champion on the test split; check the quality gates',
});
const { registerCandidate, championLineage } = proxyActivities<RegistryActivities>({
  ...registry,
  startToCloseTimeout: '5 minutes',
  summary: 'register the candidate as challenger',
});
const { recordApprovalDecision } = proxyActivities<LifecycleActivities>({
  ...registry,
  startToCloseTimeout: '1 minute',
  summary: 'record the approval decision (who, why)',
});
const { promoteToChampion } = proxyActivities<LifecycleActivities>({
  ...registry,
  startToCloseTimeout: '1 minute',
  summary: 'move the champion alias to the approved version',
});
const { exportLabelledTraffic } = proxyActivities<TrafficActivities>({
  ...cpu,
  startToCloseTimeout: '10 minutes',
  summary: 'export labelled recent traffic (prediction log + feedback) as a training partition',
});
const { ensureDriftMonitor } = proxyActivities<MonitorActivities>({
  taskQueue: TASK_QUEUES.control,
  retry,
  startToCloseTimeout: '1 minute',
  summary: 'start the drift monitor of the served model (once)',
});

/** Drift and the schedule ask for a retrain of whatever data there is; a person or new data ask for one regardless. */
function onlyAutomatic(triggers: readonly CycleTrigger[]): boolean {
  return triggers.length > 0 && triggers.every((t) => t.kind === 'drift' || t.kind === 'schedule');
}

function messageOf(err: unknown): string {
  let cause: unknown = err;
  while ((cause instanceof ActivityFailure || cause instanceof ChildWorkflowFailure) && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

function failureType(err: unknown): string | undefined {
  let cause: unknown = err;
  while (cause instanceof ChildWorkflowFailure || cause instanceof ActivityFailure) cause = cause.cause;
  return cause instanceof ApplicationFailure ? (cause.type ?? undefined) : undefined;
}

export async function modelCycle(input: ModelCycleInput): Promise<ModelCycleResult> {
  const { spec, cycle } = input;
  const model = spec.name;
  const parent = getExternalWorkflowHandle(input.lifecycleWorkflowId);
  let decision: ApprovalOutcome | undefined;
  setHandler(approvalDecisionSignal, (payload: unknown) => {
    // A malformed decision (from a script or the CLI) decides nothing: logged, never a failed task.
    const parsed = approvalOutcomeSchema.safeParse(payload);
    if (!parsed.success) {
      log.warn('approvalDecision payload refused', { model, cycle, issues: parsed.error.issues.map((i) => i.message) });
      return;
    }
    decision ??= parsed.data; // the first decision wins; a late one after a timeout is ignored
  });

  async function stage(name: CycleStage, detail?: string, version?: number): Promise<void> {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.stage, value: name },
      ...(version !== undefined ? [{ key: SEARCH_ATTRIBUTES.version, value: version }] : []),
    ]);
    setCurrentDetails(`**${name}**${detail ? `: ${detail}` : ''}`);
    await parent.signal(cycleProgressSignal, {
      cycle,
      stage: name,
      ...(detail ? { detail } : {}),
      ...(version !== undefined ? { version } : {}),
    });
  }

  // Failures keep their type (the lifecycle and list filters read it), after the stage says how it ended.
  async function failed(err: unknown): Promise<never> {
    const type = failureType(err);
    await stage(
      type === FAILURE_TYPES.DataValidationFailed
        ? 'validation-failed'
        : type === FAILURE_TYPES.QualityGateFailed
          ? 'gates-failed'
          : 'failed',
    );
    throw err;
  }

  await stage('prepare', `${input.partitions.map((p) => p.partition).join(', ')}`);
  // Child ids, and through the train id the run key (checkpoints, model files, the registry's
  // dedupe key), carry the lifecycle incarnation: a lifecycle re-created on the same data starts
  // new runs instead of resuming, overwriting or re-registering an earlier incarnation's.
  // Cycles recorded before incarnations keep their ids (patched).
  const scope = input.incarnation !== undefined && patched('cycle-incarnation-ids') ? `/${input.incarnation}` : '';
  // Every workflow of a model is listed by `FlywheelModel="<model>"`; closing the cycle (terminate,
  // a failed run) asks its children to cancel, so training stops spending a GPU and cleans up.
  const childOptions = {
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: model }],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
  };
  const sourceUris = input.partitions.flatMap((p) => p.uris);
  // Labelled recent traffic (the prediction log joined with its feedback) is one more partition
  // when the spec asks for it; new labels make a new dataset version, so they count as new data.
  const traffic = spec.data.traffic;
  if (traffic?.enabled && typeof spec.data.label === 'string' && patched('cycle-labelled-traffic')) {
    const exported = await exportLabelledTraffic({
      model,
      dataset: spec.data.dataset,
      label: spec.data.label,
      task: spec.task,
      ...(spec.data.time ? { time: spec.data.time } : {}),
      ...(spec.features ? { features: spec.features } : {}),
      // Workflow time: a retried export derives the same key and overwrites its own file.
      until: new Date().toISOString(),
      window: traffic.window,
      maxRows: traffic.maxRows,
      ...(sourceUris.length > 0 ? { schemaFrom: sourceUris[sourceUris.length - 1]! } : {}),
    });
    if (exported.uris.length > 0) {
      sourceUris.push(...exported.uris);
      setCurrentDetails(`**prepare**: with ${exported.rows} labelled traffic rows (${exported.partition})`);
    }
  }
  let prepared: PrepareDataResult;
  try {
    prepared = await executeChild(prepareData, {
      ...childOptions,
      workflowId: `${WORKFLOW_IDS.prepareData(spec.data.dataset, model)}${scope}/${cycle}`,
      args: [
        {
          dataset: spec.data.dataset,
          sourceUris,
          validationSpec: spec.data.validation as Record<string, unknown>,
          ...(input.referenceProfileUri ? { referenceProfileUri: input.referenceProfileUri } : {}),
          ...(spec.data.splits ? { splits: spec.data.splits } : {}),
          // Specs from before the feature language carry the old `features: {kind}` and no label: the data
          // activities refuse them (InvalidConfig) before loading anything.
          ...(spec.features ? { features: spec.features } : {}),
          ...(spec.task ? { task: spec.task } : {}),
          ...(spec.data.label !== undefined ? { label: spec.data.label } : {}),
          ...(spec.data.time ? { time: spec.data.time } : {}),
        },
      ],
      staticSummary: `cycle ${cycle} of ${model}: ingest, validate, profile, features`,
    });
  } catch (err) {
    return failed(err);
  }

  // Retrain on something new: drift or the schedule on the champion's own dataset version would
  // train the same model again (and canary it, and promote it). Histories from before skip nothing.
  if (onlyAutomatic(input.triggers) && patched('skip-without-new-data')) {
    const champion = await championLineage({ model });
    if (champion && champion.datasetVersion === prepared.datasetVersion) {
      const detail = `skipped: no new data since v${champion.version}`;
      await stage('skipped', detail);
      return {
        cycle,
        stage: 'skipped',
        datasetVersion: prepared.datasetVersion,
        profileUri: prepared.profileUri,
        version: champion.version,
        metrics: {},
        reportUri: '',
        promoted: false,
        detail,
      };
    }
  }

  const trainWorkflowId = `${WORKFLOW_IDS.trainModel(model, prepared.datasetVersion)}${scope}/${cycle}`;
  await stage('train', trainWorkflowId);
  const { splits, featureSpecUri } = prepared.features;
  let trained: TrainModelResult;
  try {
    trained = await executeChild(trainModel, {
      ...childOptions,
      workflowId: trainWorkflowId,
      args: [
        {
          model,
          trainUri: splits.train.uri,
          validationUri: splits.validation.uri,
          featureSpecUri,
          datasetVersion: prepared.datasetVersion,
          ...trainJobOf(spec),
        },
      ],
      staticSummary: `cycle ${cycle} of ${model}: train on ${prepared.datasetVersion}`,
    });
  } catch (err) {
    return failed(err);
  }

  await stage('evaluate');
  const runKey = trained.runKey;
  let evaluated;
  try {
    evaluated = await evaluateCandidate(
      // The dataset's lineage rides in the activity's input only (no new command: replay-safe).
      evaluateJobOf(
        spec,
        trained,
        { featureSpecUri, testUri: splits.test.uri, validationUri: splits.validation.uri },
        { manifestUri: prepared.manifestUri, validationReportUri: prepared.validation.reportUri, profileUri: prepared.profileUri },
      ),
    );
  } catch (err) {
    return failed(err);
  }

  await stage('register');
  const { version } = await registerCandidate({
    model,
    runKey,
    modelUri: trained.modelUri,
    featureSpecUri,
    lineage: { datasetVersion: prepared.datasetVersion, featureSpecHash: trained.featureSpecHash, params: trained.lineage.hyperparameters },
    metrics: evaluated.metrics,
    gateReportUri: evaluated.gateReportUri,
    reportUri: evaluated.reportUri,
    summary: evaluated.summary,
    ...(evaluated.variants ? { variants: evaluated.variants } : {}),
    ...(spec.variants?.int8.serve ? { servedVariant: 'int8' as const } : {}),
  });
  upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.version, value: version }]);

  if (spec.approval.mode === 'automatic') {
    decision = { decision: 'approved', actor: 'policy:automatic', reason: `passed quality gates: ${evaluated.summary}`, timedOut: false };
  } else {
    const timeoutMs = durationMs(spec.approval.timeout);
    await stage(
      'approval',
      `v${version} waits for approve/reject (default ${spec.approval.default} after ${spec.approval.timeout})`,
      version,
    );
    await parent.signal(approvalRequestedSignal, {
      cycle,
      cycleWorkflowId: workflowInfo().workflowId,
      version,
      requestedAt: new Date().toISOString(),
      deadline: new Date(Date.now() + timeoutMs).toISOString(),
      default: spec.approval.default,
      metrics: evaluated.metrics,
    });
    if (!(await condition(() => decision !== undefined, timeoutMs))) {
      decision = {
        decision: spec.approval.default === 'approve' ? 'approved' : 'rejected',
        actor: 'policy:timeout',
        reason: `no decision within ${spec.approval.timeout}; the spec's default is ${spec.approval.default}`,
        timedOut: true,
      };
    }
    await parent.signal(approvalResolvedSignal, { cycle, outcome: decision! });
  }
  const outcome = decision!;
  await recordApprovalDecision({ model, version, decision: outcome.decision, actor: outcome.actor, reason: outcome.reason });

  const base = {
    cycle,
    datasetVersion: prepared.datasetVersion,
    profileUri: prepared.profileUri,
    version,
    metrics: evaluated.metrics,
    reportUri: evaluated.reportUri,
    approval: outcome,
  };
  if (outcome.decision === 'rejected') {
    await stage('rejected', `${outcome.actor}: ${outcome.reason}`, version);
    return { ...base, stage: 'rejected', promoted: false };
  }
  // Histories recorded before the rollout existed replay without it (patched), and their specs
  // carry `rollout: {}`, hence the optional chaining.
  let rolledOut: RolloutResult | undefined;
  if ((spec.rollout.steps?.length ?? 0) > 0 && patched('rollout-before-promotion')) {
    const steps = spec.rollout.steps.map((s) => (s.shadow ? 'shadow' : `${s.weight}%`)).join(' → ');
    await stage('rollout', `v${version}: ${steps}`, version);
    // A closed cycle asks the rollout to cancel, and a cancelled rollout restores the route.
    rolledOut = await executeChild(rollout, {
      ...childOptions,
      workflowId: WORKFLOW_IDS.rollout(model, version),
      args: [
        { model, challenger: version, plan: spec.rollout, approvedBy: outcome.actor, reason: `cycle ${cycle} approved: ${outcome.reason}` },
      ],
      staticSummary: `cycle ${cycle} of ${model}: roll out v${version} (${steps})`,
    });
    if (rolledOut.outcome === 'rolled-back') {
      await stage('rolled-back', rolledOut.reason, version);
      return { ...base, stage: 'rolled-back', promoted: false, rollout: rolledOut };
    }
  } else {
    await stage('promote', undefined, version);
    await promoteToChampion({ model, version, actor: outcome.actor, reason: `cycle ${cycle} approved: ${outcome.reason}` });
  }
  await stage('promoted', `v${version} is champion`, version);
  // The promotion happened: a monitor that cannot be started is reported, not a failed cycle.
  let monitorError: string | undefined;
  if (spec.monitor?.enabled && patched('drift-monitor')) {
    try {
      await ensureDriftMonitor({ spec });
    } catch (err) {
      monitorError = messageOf(err);
      log.warn('the drift monitor could not be started; the promotion stands', { model, version, error: monitorError });
    }
  }
  return {
    ...base,
    stage: 'promoted',
    promoted: true,
    ...(rolledOut ? { rollout: rolledOut } : {}),
    ...(monitorError ? { monitorError } : {}),
  };
}
