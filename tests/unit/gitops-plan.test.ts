// The GitOps planner (desired × observed → actions) as a table, and the executor over a mocked
// Temporal client: which call each action makes, and a lifecycle's refusal read as `refused`.
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it, vi } from 'vitest';
import { executeAction } from '../../lib/gitops/execute.ts';
import { observedState } from '../../lib/gitops/observe.ts';
import { describeAction, planGitops, type ObservedLifecycle, type PlannedModel } from '../../lib/gitops/plan.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';

const spec = (name: string, minAuc = 0.6) => ({ name, gates: { minAuc } }) as unknown as ModelSpec;
const want = (name: string, state: PlannedModel['state'] = 'active', minAuc = 0.6): PlannedModel => ({
  name,
  state,
  spec: spec(name, minAuc),
});
const runs = (name: string, state: ObservedLifecycle['state'] = 'active', minAuc = 0.6): ObservedLifecycle => ({
  name,
  state,
  spec: spec(name, minAuc),
});

describe('planGitops', () => {
  const cases: Array<[string, PlannedModel[], ObservedLifecycle[], boolean, string[]]> = [
    ['nothing runs: create', [want('a')], [], false, ['create a']],
    ['nothing runs, paused: create then pause', [want('a', 'paused')], [], false, ['create a (then pause)']],
    ['nothing runs, retired: nothing', [want('a', 'retired')], [], false, []],
    ['same spec and state: nothing', [want('a')], [runs('a')], false, []],
    ['gate changed: update', [want('a', 'active', 0.7)], [runs('a')], false, ['update a: gates.minAuc: 0.6 → 0.7']],
    ['active → paused', [want('a', 'paused')], [runs('a')], false, ['pause a']],
    ['paused → active', [want('a')], [runs('a', 'paused')], false, ['resume a']],
    ['changed and paused: update first', [want('a', 'paused', 0.7)], [runs('a')], false, ['update a: gates.minAuc: 0.6 → 0.7', 'pause a']],
    ['retired: no update, retire', [want('a', 'retired', 0.7)], [runs('a')], false, ['retire a']],
    ['not in git: reported', [], [runs('z')], false, ['unmanaged z: runs but is not in git (prune: false keeps it)']],
    ['not in git, prune: retire', [], [runs('z')], true, ['retire z (not in git; prune)']],
    ['models in name order', [want('b'), want('a')], [], false, ['create a', 'create b']],
  ];
  it.each(cases)('%s', (_title, desired, observed, prune, expected) => {
    expect(planGitops({ models: desired, prune }, observed).map(describeAction)).toEqual(expected);
  });

  it('plain spec files (complete: false) leave the namespace’s other lifecycles alone', () => {
    expect(planGitops({ models: [want('a')], prune: true, complete: false }, [runs('a'), runs('z')])).toEqual([]);
  });
});

describe('observedState', () => {
  it('reads desiredState, a paused/retired state, or active', () => {
    expect(observedState({ desiredState: 'paused', state: 'idle' })).toBe('paused');
    expect(observedState({ state: 'retired' })).toBe('retired');
    expect(observedState({ state: 'cooldown' })).toBe('active');
    expect(observedState(null)).toBe('active');
  });
});

function mockClient(update: (name: string, args: unknown) => unknown, start: () => unknown = () => undefined) {
  const calls: Array<{ id: string; update: string; args: unknown }> = [];
  const starts: string[] = [];
  const client = {
    workflow: {
      start: vi.fn(async (_wf: unknown, opts: { workflowId: string }) => {
        starts.push(opts.workflowId);
        return start();
      }),
      getHandle: (id: string) => ({
        executeUpdate: async (def: { name: string }, opts: { args: [unknown] }) => {
          calls.push({ id, update: def.name, args: opts.args[0] });
          return update(def.name, opts.args[0]);
        },
      }),
    },
  } as unknown as Client;
  return { client, calls, starts };
}

const options = { actor: 'gitops/dev', reason: 'git commit abc' };

describe('executeAction', () => {
  it('pause, resume and retire send setState with the actor and reason', async () => {
    const { client, calls } = mockClient((_n, a) => ({ state: (a as { state: string }).state, previous: 'active', changed: true }));
    for (const kind of ['pause', 'resume', 'retire'] as const) {
      const r = await executeAction({ kind, model: 'a' }, { client, ...options });
      expect(r.outcome).toBe('done');
    }
    await executeAction({ kind: 'unmanaged', model: 'z', retire: true }, { client, ...options });
    expect(calls.map((c) => [c.id, c.update, (c.args as { state: string }).state])).toEqual([
      ['model/a', 'setState', 'paused'],
      ['model/a', 'setState', 'active'],
      ['model/a', 'setState', 'retired'],
      ['model/z', 'setState', 'retired'],
    ]);
    expect(calls[0]!.args).toEqual({ state: 'paused', actor: 'gitops/dev', reason: 'git commit abc' });
  });

  it('a setState that changes nothing is unchanged; an unmanaged model without prune is only reported', async () => {
    const { client, calls } = mockClient(() => ({ state: 'paused', previous: 'paused', changed: false }));
    expect(await executeAction({ kind: 'pause', model: 'a' }, { client, ...options })).toEqual({
      outcome: 'unchanged',
      detail: 'already paused',
    });
    expect((await executeAction({ kind: 'unmanaged', model: 'z', retire: false }, { client, ...options })).outcome).toBe('reported');
    expect(calls).toHaveLength(1);
  });

  it('update sends updateSpec (with force when asked) and saves the spec; no change reads unchanged', async () => {
    const saved: string[] = [];
    const { client, calls } = mockClient(() => ({ changes: [{ path: 'gates.minAuc', from: 0.6, to: 0.7 }] }));
    const r = await executeAction(
      { kind: 'update', model: 'a', spec: spec('a', 0.7), changes: [] },
      { client, ...options, force: true, saveSpec: async (s) => saved.push(s.name) },
    );
    expect(r).toEqual({ outcome: 'done', detail: 'gates.minAuc: 0.6 → 0.7' });
    expect(calls[0]).toMatchObject({ id: 'model/a', update: 'updateSpec', args: { force: true } });
    expect(saved).toEqual(['a']);
    const same = mockClient(() => ({ changes: [] }));
    expect(
      (await executeAction({ kind: 'update', model: 'a', spec: spec('a'), changes: [] }, { client: same.client, ...options })).outcome,
    ).toBe('unchanged');
  });

  it('create starts model/<name>; one already running gets the spec as an update instead (idempotent)', async () => {
    const fresh = mockClient(() => ({ changes: [] }));
    expect(
      await executeAction({ kind: 'create', model: 'a', spec: spec('a'), state: 'active' }, { client: fresh.client, ...options }),
    ).toEqual({
      outcome: 'done',
      detail: 'started model/a',
    });
    expect(fresh.starts).toEqual(['model/a']);
    const running = mockClient(
      () => ({ changes: [] }),
      () => {
        throw new WorkflowExecutionAlreadyStartedError('running', 'model/a', 'modelLifecycle');
      },
    );
    const r = await executeAction({ kind: 'create', model: 'a', spec: spec('a'), state: 'active' }, { client: running.client, ...options });
    expect(r.outcome).toBe('unchanged');
    expect(running.calls.map((c) => c.update)).toEqual(['updateSpec']);
  });

  it("the lifecycle's refusal (a failed Update) is `refused` with its reason; other errors throw", async () => {
    const refused = mockClient(() => {
      throw new WorkflowUpdateFailedError('update failed', ApplicationFailure.create({ message: 'a rollout is in progress' }));
    });
    expect(await executeAction({ kind: 'retire', model: 'a' }, { client: refused.client, ...options })).toEqual({
      outcome: 'refused',
      detail: 'a rollout is in progress',
    });
    const broken = mockClient(() => {
      throw new Error('deadline exceeded');
    });
    await expect(executeAction({ kind: 'pause', model: 'a' }, { client: broken.client, ...options })).rejects.toThrow('deadline exceeded');
  });
});
