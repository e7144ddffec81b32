// The contracts in lib/contracts are what clients start and message workflows by, without
// importing workflows/. These tests tie them to the workflow bundle: every handle names a
// workflow that workflows/index.ts exports under that name, with the same function type, and
// every workflow, signal, Update and Query keeps the name running histories recorded.
import { extractWorkflowType } from '@temporalio/common';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as contracts from '../../lib/contracts/index.ts';
import * as workflows from '../../workflows/index.ts';

function isWorkflowRef(value: unknown): value is contracts.WorkflowRef<contracts.ModelLifecycleWorkflow> {
  return typeof value === 'function' && 'workflowType' in value;
}

const refs = Object.entries(contracts).filter(([, value]) => isWorkflowRef(value)) as Array<
  [string, contracts.WorkflowRef<contracts.ModelLifecycleWorkflow>]
>;

describe('workflow handles', () => {
  it('name exactly the workflows the bundle exports, each under its own name', () => {
    const byName = Object.fromEntries(refs.map(([exported, ref]) => [ref.workflowType, exported]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(workflows).sort());
    for (const [exported, ref] of refs) {
      expect(exported).toBe(`${ref.workflowType}Workflow`);
      expect((workflows as Record<string, unknown>)[ref.workflowType]).toBeTypeOf('function');
      // What the SDK sends as the workflow type when a client starts the handle.
      expect(extractWorkflowType(ref)).toBe(ref.workflowType);
    }
  });

  it('type each workflow as its implementation is typed', () => {
    expectTypeOf(workflows.routingCheck).toEqualTypeOf<contracts.RoutingCheckWorkflow>();
    expectTypeOf(workflows.prepareData).toEqualTypeOf<contracts.PrepareDataWorkflow>();
    expectTypeOf(workflows.trainModel).toEqualTypeOf<contracts.TrainModelWorkflow>();
    expectTypeOf(workflows.batchPredict).toEqualTypeOf<contracts.BatchPredictWorkflow>();
    expectTypeOf(workflows.inferenceJob).toEqualTypeOf<contracts.InferenceJobWorkflow>();
    expectTypeOf(workflows.modelLifecycle).toEqualTypeOf<contracts.ModelLifecycleWorkflow>();
    expectTypeOf(workflows.modelCycle).toEqualTypeOf<contracts.ModelCycleWorkflow>();
    expectTypeOf(workflows.scheduledRetrain).toEqualTypeOf<contracts.ScheduledRetrainWorkflow>();
    expectTypeOf(workflows.rollout).toEqualTypeOf<contracts.RolloutWorkflow>();
    expectTypeOf(workflows.driftMonitor).toEqualTypeOf<contracts.DriftMonitorWorkflow>();
    expectTypeOf(workflows.gitopsReconciler).toEqualTypeOf<contracts.GitopsReconcilerWorkflow>();
    expectTypeOf(workflows.promoteAcrossEnvironments).toEqualTypeOf<contracts.PromoteAcrossEnvironmentsWorkflow>();
  });

  it('throw when called instead of started', () => {
    expect(() => contracts.routingCheckWorkflow()).toThrow('routingCheck is a workflow: start it with a Temporal client');
  });
});

describe('message names', () => {
  it('stay what running histories recorded', () => {
    const messages = Object.fromEntries(
      Object.entries(contracts)
        .filter(([, value]) => typeof value === 'object' && value !== null && 'type' in value && 'name' in value)
        .map(([exported, value]) => [exported, `${(value as { type: string }).type}:${(value as { name: string }).name}`]),
    );
    expect(messages).toEqual({
      dataArrivedSignal: 'signal:dataArrived',
      retrainSignal: 'signal:retrain',
      driftSignal: 'signal:drift',
      approveUpdate: 'update:approve',
      rejectUpdate: 'update:reject',
      statusQuery: 'query:status',
      updateSpecUpdate: 'update:updateSpec',
      specQuery: 'query:spec',
      setStateUpdate: 'update:setState',
      updateMonitorSettingsSignal: 'signal:updateMonitorSettings',
      approvalRequestedSignal: 'signal:approvalRequested',
      approvalResolvedSignal: 'signal:approvalResolved',
      cycleProgressSignal: 'signal:cycleProgress',
      approvalDecisionSignal: 'signal:approvalDecision',
      pauseRolloutUpdate: 'update:pause',
      resumeRolloutUpdate: 'update:resume',
      abortRolloutUpdate: 'update:abort',
      rolloutStatusQuery: 'query:status',
      checkNowSignal: 'signal:checkNow',
      driftMonitorStatusQuery: 'query:status',
      batchProgressQuery: 'query:progress',
      gitopsSyncSignal: 'signal:sync',
      gitopsStatusQuery: 'query:status',
      approvePromotionUpdate: 'update:approve',
      rejectPromotionUpdate: 'update:reject',
      promotionStatusQuery: 'query:status',
    });
  });
});
