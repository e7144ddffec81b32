// modelLifecycle: the entity workflow of one model (id `model/<name>`), running for as long as
// the model lives. Triggers (new data, retrain requests, the Schedule, drift) queue up; one
// cycle (a `modelCycle` child) runs at a time, and everything that arrives meanwhile is
// coalesced into the next cycle, never lost. Approvals are Updates validated against a pending
// request. continueAsNew keeps history small and carries every pending trigger. `setState` pauses
// it (triggers wait), resumes it, or retires it (it ends once no cycle runs).
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
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import type { LifecycleActivities } from '../activities/lifecycle/index.ts';
import type { RolloutActivities } from '../activities/rollout/index.ts';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { diffSpecs, touches } from '../lib/lifecycle/spec-diff.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import type { ModelSpec } from '../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import { approvalDecisionSignal, type ApprovalOutcome, type CycleStage, type CycleTrigger } from '../lib/contracts/model-cycle.ts';
import {
  approvalDecisionSchema,
  approvalRequestSchema,
  approvalRequestedSignal,
  approvalResolvedSchema,
  approvalResolvedSignal,
  approveUpdate,
  cycleProgressSchema,
  cycleProgressSignal,
  dataArrivedSchema,
  dataArrivedSignal,
  driftSchema,
  driftSignal,
  MAX_REFUSED,
  rejectUpdate,
  retrainSchema,
  setStateSchema,
  setStateUpdate,
  retrainSignal,
  specQuery,
  statusQuery,
  updateSpecSchema,
  updateSpecUpdate,
  type ApprovalDecisionInput,
  type UpdateSpecResult,
  type ApprovalRequest,
  type CycleSummary,
  type DesiredStateChange,
  type LifecycleCarryOver,
  type LifecycleDesiredState,
  type LifecycleOptions,
  type SetStateResult,
  type LifecycleStatus,
} from '../lib/contracts/model-lifecycle.ts';
import { modelCycle } from './model-cycle.ts';

// Schedule sync, spec parsing and monitor settings are control work: slots of their own.
const lifecycle = proxyActivities<LifecycleActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 10, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

// A few tries only: the reconciliation is a courtesy before a cycle, never a reason to hold one up.
const { restoreOrphanedRoute } = proxyActivities<RolloutActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
  summary: 'hand back to the champion a canary or shadow whose rollout no longer runs',
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

/** Partitions beyond the training window that keep their name (not their URIs) across continue-as-new. */
const MAX_ARCHIVED_PARTITIONS = 1_000;

/** A zod error in one line: `uris: expected array, received undefined; …`. */
function issuesOf(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`).join('; ');
}

function messageOf(err: unknown): string {
  let cause: unknown = err;
  while ((cause instanceof ChildWorkflowFailure || cause instanceof ActivityFailure) && cause.cause) cause = cause.cause;
  return cause instanceof Error ? cause.message : String(cause);
}

export async function modelLifecycle(initialSpec: ModelSpec, carry?: LifecycleCarryOver, options: LifecycleOptions = {}): Promise<void> {
  // `updateSpec` replaces it; a cycle takes the spec current when it starts.
  let spec = initialSpec;
  const model = spec.name;
  const state: LifecycleCarryOver = carry ?? { cycles: 0, partitions: [], pending: [], seenEventIds: [], history: [] };
  const refused = (state.refused ??= []);
  let current: (CycleSummary & { detail?: string }) | null = null;
  let pendingApproval: ApprovalRequest | null = null;
  const resolved = new Map<number, ApprovalOutcome>();
  let cooldownUntil: number | null = null;
  // What the owner wants (`setState`); `active` unless a change says otherwise.
  let desired: LifecycleDesiredState = state.desiredState?.state ?? 'active';
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

  /** Parses a signal payload; a bad one is recorded and logged, never thrown (a throw in a signal
   * handler fails every workflow task from then on). */
  function accept<S extends z.ZodType>(handler: string, schema: S, payload: unknown): z.output<S> | undefined {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    const reason = issuesOf(parsed.error);
    refused.push({ handler, reason, at: new Date().toISOString() });
    if (refused.length > MAX_REFUSED) refused.splice(0, refused.length - MAX_REFUSED);
    log.warn('signal payload refused', { model, handler, reason });
    return undefined;
  }

  setHandler(dataArrivedSignal, (payload: unknown) => {
    const event = accept('dataArrived', dataArrivedSchema, payload);
    if (!event) return;
    if (event.dataset !== spec.data.dataset || seen(event.eventId)) return;
    const partition = { partition: event.partition, uris: event.uris, eventId: event.eventId };
    const i = state.partitions.findIndex((p) => p.partition === event.partition);
    if (i >= 0) state.partitions[i] = partition;
    else state.partitions.push(partition);
    state.partitions.sort((a, b) => a.partition.localeCompare(b.partition));
    if (spec.retrain.onNewData && event.retrain !== false)
      enqueue({ kind: 'new-data', eventId: event.eventId, detail: `${event.dataset} ${event.partition}` });
  });
  setHandler(retrainSignal, (payload: unknown) => {
    const request = accept('retrain', retrainSchema, payload);
    if (!request) return;
    if (request.eventId && seen(request.eventId)) return;
    enqueue({
      kind: request.scheduled ? 'schedule' : 'retrain',
      eventId: request.eventId ?? `retrain/${workflowInfo().historyLength}`,
      detail: `${request.reason}${request.requestedBy ? ` (by ${request.requestedBy})` : ''}`,
    });
  });
  setHandler(driftSignal, (payload: unknown) => {
    const drift = accept('drift', driftSchema, payload);
    if (!drift) return;
    if (seen(drift.eventId) || !spec.retrain.onDrift) return;
    enqueue({ kind: 'drift', eventId: drift.eventId, detail: drift.summary });
  });

  setHandler(cycleProgressSignal, (payload: unknown) => {
    const progress = accept('cycleProgress', cycleProgressSchema, payload);
    if (!progress) return;
    if (!current || progress.cycle !== current.cycle) return;
    current.stage = progress.stage;
    if (progress.detail !== undefined) current.detail = progress.detail;
    if (progress.version !== undefined) current.version = progress.version;
  });
  setHandler(approvalRequestedSignal, (payload: unknown) => {
    const request = accept('approvalRequested', approvalRequestSchema, payload);
    if (!request) return;
    if (current?.cycle === request.cycle) pendingApproval = request;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'awaiting-approval' }]);
  });
  setHandler(approvalResolvedSignal, (payload: unknown) => {
    const resolution = accept('approvalResolved', approvalResolvedSchema, payload);
    if (!resolution) return;
    const { cycle, outcome } = resolution;
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
  function validateDecision(input: unknown): void {
    if (!pendingApproval)
      throw new Error(`no approval is pending for ${model}${current ? ` (cycle ${current.cycle} is at ${current.stage})` : ''}`);
    const parsed = approvalDecisionSchema.safeParse(input);
    if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
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
    refused,
    desiredState: desired,
    ...(state.desiredState ? { desiredStateChange: state.desiredState } : {}),
  }));
  setHandler(specQuery, () => spec);

  // Changing the spec of a running model: the validator refuses what is unsafe before anything is
  // recorded; the handler runs the full spec parser (an activity), adopts the spec for the next
  // cycle, and brings the Schedule and the drift monitor in step with it.
  let specUpdating = false;
  let specChanges = 0;
  setHandler(
    updateSpecUpdate,
    async (input): Promise<UpdateSpecResult> => {
      await condition(() => !specUpdating); // one spec change at a time
      specUpdating = true;
      try {
        let next: ModelSpec;
        try {
          next = await lifecycle.parseSpec({ spec: input.spec });
        } catch (err) {
          throw ApplicationFailure.create({ type: FAILURE_TYPES.InvalidConfig, message: messageOf(err), nonRetryable: true });
        }
        const changes = diffSpecs(spec, next);
        if (changes.length === 0) return { changes };
        spec = next;
        specChanges++;
        log.info('spec updated', { model, changes: changes.map((c) => c.path) });
        const result: UpdateSpecResult = { changes };
        const errors: string[] = [];
        if (touches(changes, 'retrain'))
          await lifecycle
            .syncRetrainSchedule({ name: spec.name, retrain: spec.retrain, ...(desired === 'paused' ? { paused: true } : {}) })
            .then((r) => void (result.schedule = r.state))
            .catch((err: unknown) => void errors.push(`schedule: ${messageOf(err)}`));
        if (touches(changes, 'monitor'))
          await lifecycle
            .applyMonitorSettings({ spec: { name: spec.name, data: spec.data, monitor: monitorInForce() } })
            .then((r) => void (result.monitor = r.state))
            .catch((err: unknown) => void errors.push(`monitor: ${messageOf(err)}`));
        return errors.length ? { ...result, errors } : result;
      } finally {
        specUpdating = false;
      }
    },
    {
      validator: (input: unknown) => {
        const parsed = updateSpecSchema.safeParse(input);
        if (!parsed.success) throw new Error(`not a model spec update: ${issuesOf(parsed.error)}`);
        const next = parsed.data.spec;
        if (desired === 'retired') throw new Error(`${model} is retired: its lifecycle ends once no cycle runs; nothing to apply`);
        if (next.name !== model)
          throw new Error(`the spec is for ${next.name}, this lifecycle runs ${model}: a model's name cannot change`);
        if (next.data.dataset !== spec.data.dataset)
          throw new Error(
            `data.dataset cannot change on a running model (${spec.data.dataset} → ${next.data.dataset}): its partitions are ${spec.data.dataset}'s; create a new model`,
          );
        if (current?.stage === 'rollout' && !parsed.data.force)
          throw new Error(
            `cycle ${current.cycle} is rolling out v${current.version ?? '?'}; apply after it ends, or force (the rollout keeps the spec it started with)`,
          );
      },
    },
  );

  /** The monitor settings the lifecycle's state allows: the spec's while active, none otherwise. */
  function monitorInForce(): ModelSpec['monitor'] {
    return desired === 'active' ? spec.monitor : { ...spec.monitor, enabled: false };
  }
  /** Brings the Schedule and the drift monitor in step with the desired state; errors are reported, not thrown. */
  async function applyDesiredState(note: string): Promise<Pick<SetStateResult, 'schedule' | 'monitor' | 'errors'>> {
    const result: Pick<SetStateResult, 'schedule' | 'monitor' | 'errors'> = {};
    const errors: string[] = [];
    await lifecycle
      .setRetrainScheduleState({ name: spec.name, state: desired, note })
      .then((r) => void (result.schedule = r.state))
      .catch((err: unknown) => void errors.push(`schedule: ${messageOf(err)}`));
    // The monitor has no pause: `enabled: false` ends it (its settings signal); resuming starts it
    // again from the spec when the model has a champion (signal-with-start).
    const stopping = desired !== 'active';
    await lifecycle
      .applyMonitorSettings({ spec: { name: spec.name, data: spec.data, monitor: monitorInForce() } })
      .then((r) => void (result.monitor = stopping ? (r.state === 'none' ? 'none' : 'stopped') : r.state))
      .catch((err: unknown) => void errors.push(`monitor: ${messageOf(err)}`));
    return errors.length ? { ...result, errors } : result;
  }

  let scheduleSynced = false;
  // The owner's desired state (GitOps `state:`, `flywheel pipeline pause|resume|retire`). Shares
  // updateSpec's lock: the Schedule and the monitor see one change at a time.
  setHandler(
    setStateUpdate,
    async (input): Promise<SetStateResult> => {
      // After the first run's Schedule sync, so a Schedule it creates is paused too.
      await condition(() => !specUpdating && scheduleSynced);
      specUpdating = true;
      try {
        const previous = desired;
        const last = state.desiredState;
        // The same state again does nothing, unless its Schedule/monitor step failed last time (a retry).
        if (input.state === previous && !last?.errors?.length) return { state: previous, previous, changed: false };
        const changed = input.state !== previous;
        desired = input.state;
        const actor = input.actor.trim();
        const reason = input.reason.trim();
        const change: DesiredStateChange = changed
          ? { state: desired, previous, actor, reason, at: new Date().toISOString() }
          : { ...last!, errors: [] };
        state.desiredState = change;
        log.info('desired state set', { model, state: desired, previous, actor, reason });
        const applied = await applyDesiredState(`${desired} by ${actor}: ${reason}`);
        if (applied.errors) change.errors = applied.errors;
        else delete change.errors;
        return { state: desired, previous, changed, ...applied };
      } finally {
        specUpdating = false;
      }
    },
    {
      validator: (input: unknown) => {
        const parsed = setStateSchema.safeParse(input);
        if (!parsed.success) throw new Error(`not a state change: ${issuesOf(parsed.error)}`);
        if (desired === 'retired' && parsed.data.state !== 'retired')
          throw new Error(
            `${model} is retired${current ? `: its lifecycle ends once cycle ${current.cycle} ends` : ''}; a retired lifecycle cannot be ${parsed.data.state === 'paused' ? 'paused' : 'resumed'} (start it again with \`flywheel pipeline start\`)`,
          );
      },
    },
  );

  if (!carry) await lifecycle.syncRetrainSchedule({ name: spec.name, retrain: spec.retrain });
  scheduleSynced = true;

  const maxEvents = options.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  const tooLong = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > maxEvents;
  for (;;) {
    // Paused: triggers wait in `pending`; retired: no new cycle, the lifecycle ends.
    await condition(() => (state.pending.length > 0 && desired === 'active') || desired === 'retired' || tooLong());
    if (state.pending.length === 0 || desired !== 'active') break;

    // Cooldown applies to automatic triggers; a person asking for a retrain goes first.
    const cooldownMs = durationMs(spec.retrain.cooldown);
    const readyAt = state.lastAutomaticCycleEndedAt ? Date.parse(state.lastAutomaticCycleEndedAt) + cooldownMs : 0;
    if (Date.now() < readyAt && state.pending.every((t) => t.kind !== 'retrain')) {
      cooldownUntil = readyAt;
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'cooldown' }]);
      // A person's retrain ends the wait; so does a spec change (a new cooldown) and, in newer
      // runs, a long history: the triggers waiting out the cooldown travel with continue-as-new.
      const early = patched('lifecycle-cooldown-continue-as-new');
      const specAtWait = specChanges;
      await condition(
        () => state.pending.some((t) => t.kind === 'retrain') || specChanges !== specAtWait || (early && tooLong()) || desired !== 'active',
        readyAt - Date.now(),
      );
      cooldownUntil = null;
      if (early && tooLong()) break;
      continue;
    }

    const triggers = state.pending.splice(0); // everything that arrived so far: one cycle
    // Partitions outside an earlier window kept only their name across continue-as-new.
    const usable = state.partitions.filter((p) => p.uris.length > 0);
    const window = spec.data.windowPartitions ? usable.slice(-spec.data.windowPartitions) : usable;
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
    // A rollout terminated by hand runs no compensation and leaves its canary on the server; no
    // rollout of this model runs between cycles, so a canary or shadow now is an orphan.
    if ((spec.rollout.steps?.length ?? 0) > 0 && patched('lifecycle-restore-orphaned-route')) {
      try {
        const restored = await restoreOrphanedRoute({ model });
        if (restored.restored) log.warn('orphaned rollout route restored to the champion', { model, version: restored.version });
      } catch (err) {
        log.warn('orphaned-route check failed; the cycle goes on', { model, error: messageOf(err) });
      }
    }
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
            // Run keys and child ids per incarnation: a re-created lifecycle never reuses an old one's.
            ...(patched('lifecycle-incarnation') ? { incarnation: workflowInfo().firstExecutionRunId.slice(0, 8) } : {}),
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
        ...(result.detail ? { note: result.detail } : {}),
        ...(result.monitorError ? { note: `promoted, but the drift monitor did not start: ${result.monitorError}` } : {}),
      });
      if (result.promoted) state.championProfileUri = result.profileUri;
      // Paused or retired while this cycle ran: its promotion (re)started the monitor; stop it again.
      if (result.promoted && desired !== 'active')
        await lifecycle
          .applyMonitorSettings({ spec: { name: spec.name, data: spec.data, monitor: monitorInForce() } })
          .catch((err: unknown) => log.warn('could not stop the drift monitor after the cycle', { model, error: messageOf(err) }));
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
  if (desired === 'retired') {
    // The Schedule is gone and the monitor stopped (setState); versions and aliases stay in the registry.
    await condition(allHandlersFinished);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: 'retired' }]);
    log.info('lifecycle retired', {
      model,
      by: state.desiredState?.actor,
      reason: state.desiredState?.reason,
      dropped: state.pending.length,
    });
    return;
  }
  // Pending triggers, partitions and de-duplication state travel to the next run.
  await condition(allHandlersFinished);
  archivePartitions(state, spec.data.windowPartitions);
  await continueAsNew<typeof modelLifecycle>(spec, state, options);
}

/**
 * Bounds what continue-as-new carries: partitions outside the training window keep their name
 * (status, ordering) but not their URIs, and at most MAX_ARCHIVED_PARTITIONS of them. Without a
 * window every partition is training data and keeps its URIs.
 */
function archivePartitions(state: LifecycleCarryOver, windowPartitions: number | undefined): void {
  if (!windowPartitions) return;
  const cut = state.partitions.length - windowPartitions;
  if (cut <= 0) return;
  const archived = state.partitions.slice(Math.max(0, cut - MAX_ARCHIVED_PARTITIONS), cut);
  state.partitions = [...archived.map((p) => ({ partition: p.partition, uris: [], eventId: p.eventId })), ...state.partitions.slice(cut)];
}
