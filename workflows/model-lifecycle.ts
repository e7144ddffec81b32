// modelLifecycle: the entity workflow of one model (id `model/<name>`), running for as long as
// the model lives. Triggers (new data, retrain requests, the Schedule, drift) queue up; one
// cycle (a `modelCycle` child) runs at a time, and everything that arrives meanwhile is
// coalesced into the next cycle, never lost. Approvals are Updates validated against a pending
// request. continueAsNew keeps history small and carries every pending trigger.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  ChildWorkflowFailure,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle/index.ts';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import type { ModelSpec } from '../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import { approvalDecisionSignal, type ApprovalOutcome, type CycleStage, type CycleTrigger } from '../lib/contracts/model-cycle.ts';
import {
  approvalRequestedSignal,
  approvalResolvedSignal,
  approveUpdate,
  cycleProgressSignal,
  dataArrivedSignal,
  driftSignal,
  rejectUpdate,
  retrainSignal,
  statusQuery,
  type ApprovalDecisionInput,
  type ApprovalRequest,
  type CycleSummary,
  type LifecycleCarryOver,
  type LifecycleOptions,
  type LifecycleStatus,
} from '../lib/contracts/model-lifecycle.ts';
import { modelCycle } from './model-cycle.ts';

const lifecycle = proxyActivities<LifecycleActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

/** History events after which a run continues as new even if the server does not suggest it. */
const MAX_HISTORY_EVENTS = 5_000;

const MAX_SEEN_EVENT_IDS = 1_000;
const MAX_HISTORY_CYCLES = 20;

function stageOf(err: unknown): CycleStage {
  let cause: unknown = err;
  while (cause instanceof ChildWorkflowFailure || cause instanceof ActivityFailure) cause = cause.cause;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  return type === FAILURE_TYPES.DataValidationFailed
    ? 'validation-failed'
    : type === FAILURE_TYPES.QualityGateFailed
      ? 'gates-failed'
      : 'failed';
}

function messageOf(err: unknown): string {
  let cause: unknown = err;
  while ((cause instanceof ChildWorkflowFailure || cause instanceof ActivityFailure) && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function modelLifecycle(spec: ModelSpec, carry?: LifecycleCarryOver, options: LifecycleOptions = {}): Promise<void> {
  const model = spec.name;
  const state: LifecycleCarryOver = carry ?? { cycles: 0, partitions: [], pending: [], seenEventIds: [], history: [] };
  let current: (CycleSummary & { detail?: string }) | null = null;
  let pendingApproval: ApprovalRequest | null = null;
  const resolved = new Map<number, ApprovalOutcome>();
  let cooldownUntil: number | null = null;
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: model },
    { key: SEARCH_ATTRIBUTES.stage, value: 'idle' },
  ]);

  function seen(eventId: string): boolean {
    if (state.seenEventIds.includes(eventId)) return true;
    state.seenEventIds.push(eventId);
    if (state.seenEventIds.length > MAX_SEEN_EVENT_IDS) state.seenEventIds.splice(0, state.seenEventIds.length - MAX_SEEN_EVENT_IDS);
    return false;
  }

  function enqueue(trigger: Omit<CycleTrigger, 'at'>): void {
    state.pending.push({ ...trigger, at: new Date().toISOString() });
  }

  setHandler(dataArrivedSignal, (event) => {
    if (event.dataset !== spec.data.dataset || seen(event.eventId)) return;
    const partition = { partition: event.partition, uris: event.uris, eventId: event.eventId };
    const i = state.partitions.findIndex((p) => p.partition === event.partition);
    if (i >= 0) state.partitions[i] = partition;
    else state.partitions.push(partition);
    state.partitions.sort((a, b) => a.partition.localeCompare(b.partition));
    if (spec.retrain.onNewData && event.retrain !== false)
      enqueue({ kind: 'new-data', eventId: event.eventId, detail: `${event.dataset} ${event.partition}` });
  });
  setHandler(retrainSignal, (request) => {
    if (request.eventId && seen(request.eventId)) return;
    enqueue({
      kind: request.scheduled ? 'schedule' : 'retrain',
      eventId: request.eventId ?? `retrain/${workflowInfo().historyLength}`,
      detail: `${request.reason}${request.requestedBy ? ` (by ${request.requestedBy})` : ''}`,
    });
  });
  setHandler(driftSignal, (drift) => {
    if (seen(drift.eventId) || !spec.retrain.onDrift) return;
    enqueue({ kind: 'drift', eventId: drift.eventId, detail: drift.summary });
  });

  setHandler(cycleProgressSignal, (progress) => {
    if (!current || progress.cycle !== current.cycle) return;
    current.stage = progress.stage;
    if (progress.detail !== undefined) current.detail = progress.detail;
    if (progress.version !== undefined) current.version = progress.version;
  });
  setHandler(approvalRequestedSignal, (request) => {
    if (current?.cycle === request.cycle) pendingApproval = request;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'awaiting-approval' }]);
  });
  setHandler(approvalResolvedSignal, ({ cycle, outcome }) => {
    resolved.set(cycle, outcome);
    if (pendingApproval?.cycle === cycle) pendingApproval = null;
  });

  function decide(decision: 'approved' | 'rejected') {
    return async (input: ApprovalDecisionInput) => {
      const request = pendingApproval!;
      await getExternalWorkflowHandle(request.cycleWorkflowId).signal(approvalDecisionSignal, {
        decision,
        actor: input.actor,
        reason: input.reason,
        timedOut: false,
      });
      // Answer with what actually happened: a timeout may have decided first.
      await condition(() => resolved.has(request.cycle));
      return { ...resolved.get(request.cycle)!, cycle: request.cycle, version: request.version };
    };
  }
  function validateDecision(input: ApprovalDecisionInput): void {
    if (!pendingApproval)
      throw new Error(`no approval is pending for ${model}${current ? ` (cycle ${current.cycle} is at ${current.stage})` : ''}`);
    if (!input?.actor?.trim()) throw new Error('an approval needs the approver (actor)');
    if (!input.reason?.trim()) throw new Error('an approval needs a reason');
  }
  setHandler(approveUpdate, decide('approved'), { validator: validateDecision });
  setHandler(rejectUpdate, decide('rejected'), { validator: validateDecision });

  setHandler(statusQuery, (): LifecycleStatus => ({
    model,
    state: pendingApproval ? 'awaiting-approval' : current ? 'running' : cooldownUntil !== null ? 'cooldown' : 'idle',
    current,
    pendingApproval,
    pendingTriggers: state.pending,
    partitions: state.partitions.map((p) => p.partition),
    history: state.history,
    cycles: state.cycles,
    cooldownUntil: cooldownUntil === null ? null : new Date(cooldownUntil).toISOString(),
  }));

  if (!carry) await lifecycle.syncRetrainSchedule({ name: spec.name, retrain: spec.retrain });

  const maxEvents = options.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  for (;;) {
    await condition(() => state.pending.length > 0 || tooLong());
    if (state.pending.length === 0) break;

    // Cooldown applies to automatic triggers; a person asking for a retrain goes first.
    const cooldownMs = durationMs(spec.retrain.cooldown);
    const readyAt = state.lastAutomaticCycleEndedAt ? Date.parse(state.lastAutomaticCycleEndedAt) + cooldownMs : 0;
    if (Date.now() < readyAt && state.pending.every((t) => t.kind !== 'retrain')) {
      cooldownUntil = readyAt;
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'cooldown' }]);
      await condition(() => state.pending.some((t) => t.kind === 'retrain'), readyAt - Date.now());
      cooldownUntil = null;
      continue;
    }

    const triggers = state.pending.splice(0); // everything that arrived so far: one cycle
    const window = spec.data.windowPartitions ? state.partitions.slice(-spec.data.windowPartitions) : state.partitions;
    const cycle = ++state.cycles;
    const workflowId = WORKFLOW_IDS.modelCycle(model, cycle);
    const summary: CycleSummary & { detail?: string } = {
      cycle,
      workflowId,
      stage: 'prepare',
      startedAt: new Date().toISOString(),
      triggers,
    };
    if (window.length === 0) {
      state.history.push({
        ...summary,
        stage: 'failed',
        endedAt: summary.startedAt,
        error: `no ${spec.data.dataset} data has arrived yet`,
      });
      log.warn('cycle skipped: no data yet', { model, cycle });
      continue;
    }
    current = summary;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'running' }]);
    try {
      const result = await executeChild(modelCycle, {
        workflowId,
        args: [
          {
            spec,
            cycle,
            partitions: window.map(({ partition, uris }) => ({ partition, uris })),
            triggers,
            lifecycleWorkflowId: workflowInfo().workflowId,
            ...(state.championProfileUri ? { referenceProfileUri: state.championProfileUri } : {}),
          },
        ],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.model, value: model },
          { key: SEARCH_ATTRIBUTES.stage, value: 'prepare' },
        ],
        staticSummary: `cycle ${cycle} of ${model} (${triggers.map((t) => t.kind).join(', ')}) on ${window.map((p) => p.partition).join(', ')}`,
      });
      Object.assign(summary, {
        stage: result.stage,
        version: result.version,
        datasetVersion: result.datasetVersion,
        metrics: result.metrics,
      });
      if (result.promoted) state.championProfileUri = result.profileUri;
    } catch (err) {
      Object.assign(summary, { stage: stageOf(err), error: messageOf(err) });
    }
    // An approve/reject Update still waiting hears that the cycle is over.
    if (pendingApproval && !resolved.has(cycle))
      resolved.set(cycle, { decision: 'rejected', actor: 'flywheel', reason: `cycle ${cycle} ended (${summary.stage})`, timedOut: false });
    summary.endedAt = new Date().toISOString();
    delete summary.detail;
    current = null;
    pendingApproval = null;
    state.history.push(summary);
    if (state.history.length > MAX_HISTORY_CYCLES) state.history.splice(0, state.history.length - MAX_HISTORY_CYCLES);
    if (triggers.some((t) => t.kind !== 'retrain')) state.lastAutomaticCycleEndedAt = summary.endedAt;
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.stage, value: 'idle' },
      ...(summary.version ? [{ key: SEARCH_ATTRIBUTES.version, value: summary.version }] : []),
    ]);
    if (tooLong()) break;
  }
  // Pending triggers, partitions and de-duplication state travel to the next run.
  await condition(allHandlersFinished);
  await continueAsNew<typeof modelLifecycle>(spec, state, options);
}
