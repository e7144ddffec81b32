// Lifecycle activities (CPU queue): record an approval decision, promote a version to champion,
// and keep a model's retrain Schedule in step with its spec. Each is idempotent, so a retry or
// a replay after a crash never applies an effect twice.
import { ApplicationFailure } from '@temporalio/common';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import { ALIASES, type ApprovalRecord, type ModelRegistry } from '../../lib/registry/index.ts';
import { retrainScheduleSpec } from '../../lib/lifecycle/schedule.ts';
import { parseModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { RegistryNotFoundError } from '../../lib/registry/errors.ts';
import { convergeDriftMonitor, type MonitorSpecOf } from '../monitor/converge.ts';
import type { LifecycleDesiredState, MonitorSettingsResult, RetrainScheduleStateResult } from '../../lib/contracts/model-lifecycle.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { scheduledRetrainWorkflow, type ScheduledRetrainWorkflow } from '../../lib/contracts/scheduled-retrain.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { CHAMPION_SUPERSEDED } from '../../lib/contracts/rollout.ts';

export interface LifecycleActivityDeps {
  registry: ModelRegistry;
  logger: Logger;
  /** A workflow client, for Schedules (connected lazily). */
  client: () => Promise<Client>;
}

export function createLifecycleActivities(deps: LifecycleActivityDeps) {
  // An unknown model or version is a non-retryable NotFound (the worker's failure table).
  return {
    async recordApprovalDecision(input: Omit<ApprovalRecord, 'at'>): Promise<ApprovalRecord> {
      const existing = (await deps.registry.approvals(input.model, input.version)).find(
        (a) => a.decision === input.decision && a.actor === input.actor && a.reason === input.reason,
      );
      return existing ?? (await deps.registry.recordApproval(input));
    },

    /** Moves the champion alias. With `expectedChampion` it is a compare-and-set: when another
     * version holds the alias (promoted by hand during a rollout), it is left alone and a
     * non-retryable CHAMPION_SUPERSEDED failure says who holds it. */
    async promoteToChampion(input: {
      model: string;
      version: number;
      actor: string;
      reason: string;
      /** The champion the caller saw (null: none); unset: move unconditionally. */
      expectedChampion?: number | null;
    }): Promise<{ fromVersion: number | null; changed: boolean }> {
      const current = (await deps.registry.getModel(input.model)).aliases[ALIASES.champion] ?? null;
      if (current === input.version) return { fromVersion: current, changed: false };
      if (input.expectedChampion !== undefined && current !== input.expectedChampion) {
        const held = current === null ? 'no version' : `v${current}`;
        throw ApplicationFailure.create({
          type: CHAMPION_SUPERSEDED,
          nonRetryable: true,
          message: `${input.model}: ${held} holds the champion alias, not v${input.expectedChampion ?? 'none'} as when the rollout began (promoted by someone else); v${input.version} not promoted`,
          details: [{ model: input.model, current, expected: input.expectedChampion, version: input.version }],
        });
      }
      const move = await deps.registry.setAlias(input.model, ALIASES.champion, input.version, { actor: input.actor, reason: input.reason });
      deps.logger.info({ model: input.model, from: move.fromVersion, to: move.toVersion }, 'champion promoted');
      return { fromVersion: move.fromVersion, changed: true };
    },

    /** The project's spec parser, for the `updateSpec` Update (workflows cannot load it: it reads
     * files). A spec it refuses is a permanent InvalidConfig failure naming every bad field. */
    async parseSpec(input: { spec: unknown }): Promise<ModelSpec> {
      try {
        return parseModelSpec(input.spec, 'the new spec');
      } catch (err) {
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: err instanceof Error ? err.message : String(err) });
      }
    },

    /**
     * Hands a changed `monitor` section to `monitor/<model>` (its `updateMonitorSettings` signal):
     * a running monitor keeps its state and applies the settings from its next check on. When
     * none runs and the model has a champion, it starts with them (signal-with-start); without a
     * champion there is nothing to watch yet and the next promotion starts it from the spec.
     */
    async applyMonitorSettings(input: { spec: MonitorSpecOf }): Promise<MonitorSettingsResult> {
      const { spec } = input;
      let champion = false;
      try {
        champion = (await deps.registry.getModel(spec.name)).aliases[ALIASES.champion] !== undefined;
      } catch (err) {
        if (!(err instanceof RegistryNotFoundError)) throw err;
      }
      const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
      const state = await convergeDriftMonitor(await deps.client(), spec, { start: champion });
      deps.logger.info({ model: spec.name, workflowId, state }, 'drift monitor settings applied');
      return { workflowId, state };
    },

    /**
     * The lifecycle's desired state on its Schedule `schedule/<model>`: paused pauses it, active
     * unpauses it, retired deletes it (a retired lifecycle ends; a paused Schedule left behind
     * would be an orphan, and a lifecycle started again re-creates it from the spec). No Schedule:
     * `none`. Idempotent.
     */
    async setRetrainScheduleState(input: {
      name: string;
      state: LifecycleDesiredState;
      note: string;
    }): Promise<RetrainScheduleStateResult> {
      const client = await deps.client();
      const scheduleId = WORKFLOW_IDS.retrainSchedule(input.name);
      const handle = client.schedule.getHandle(scheduleId);
      let paused: boolean;
      try {
        paused = (await handle.describe()).state.paused;
      } catch (err) {
        if (err instanceof ScheduleNotFoundError) return { scheduleId, state: 'none' };
        throw err;
      }
      if (input.state === 'retired') {
        await handle.delete().catch((err: unknown) => {
          if (!(err instanceof ScheduleNotFoundError)) throw err;
        });
        return { scheduleId, state: 'deleted' };
      }
      if (input.state === 'paused') {
        if (!paused) await handle.pause(input.note);
        return { scheduleId, state: 'paused' };
      }
      if (paused) await handle.unpause(input.note);
      return { scheduleId, state: 'unpaused' };
    },

    /** Creates, updates or deletes the Schedule `schedule/<model>` to match `retrain.schedule`.
     * `paused` (a paused lifecycle): a Schedule it creates starts paused; one it updates keeps its state. */
    async syncRetrainSchedule(
      spec: Pick<ModelSpec, 'name' | 'retrain'> & { paused?: boolean },
    ): Promise<{ scheduleId: string; state: 'created' | 'updated' | 'deleted' | 'none' }> {
      const client = await deps.client();
      const scheduleId = WORKFLOW_IDS.retrainSchedule(spec.name);
      const handle = client.schedule.getHandle(scheduleId);
      const when = spec.retrain.schedule;
      let exists = true;
      try {
        await handle.describe();
      } catch (err) {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
        exists = false;
      }
      if (!when) {
        if (!exists) return { scheduleId, state: 'none' };
        await handle.delete();
        return { scheduleId, state: 'deleted' };
      }
      const action: ScheduleOptionsStartWorkflowAction<ScheduledRetrainWorkflow> = {
        type: 'startWorkflow',
        workflowType: scheduledRetrainWorkflow,
        taskQueue: TASK_QUEUES.cpu,
        args: [{ model: spec.name }],
        workflowId: `scheduled-retrain/${spec.name}`,
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
      };
      // Overlap skip: a schedule never stacks retrains; a short catch-up window, so a server that
      // was down for a day does not fire every missed slot when it returns.
      const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' };
      const scheduleSpec = retrainScheduleSpec(when);
      if (!exists) {
        await client.schedule.create({
          scheduleId,
          spec: scheduleSpec,
          action,
          policies,
          state: { note: `retrain ${spec.name} on "${when}"`, ...(spec.paused ? { paused: true } : {}) },
        });
        return { scheduleId, state: 'created' };
      }
      await handle.update((previous) => ({ ...previous, spec: scheduleSpec, action, policies }));
      return { scheduleId, state: 'updated' };
    },
  };
}

export type LifecycleActivities = ReturnType<typeof createLifecycleActivities>;
