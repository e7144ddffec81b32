// gitopsReconciler (`gitops/<env>`): one per environment, in its namespace. Each pass fetches the
// desired state at the head of the git ref, observes the running lifecycles, plans (pure, here)
// and applies each action through an activity (start, updateSpec, setState: all idempotent, so a
// pass cut short by a cancel or terminate is simply done again). A commit that does not load is
// reported in the status and skipped; the last good commit stays applied. The applied commit is
// the FlywheelGitCommit search attribute. A `sync` signal starts a pass at once, else the
// interval does; the run continues as new when Temporal suggests it or after `maxLoops` passes.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { GitopsActivities } from '../activities/gitops/index.ts';
import {
  gitopsStatusQuery,
  gitopsSyncSchema,
  gitopsSyncSignal,
  MAX_GITOPS_HISTORY,
  type GitopsActionRecord,
  type GitopsReconcilerInput,
  type GitopsStatus,
} from '../lib/contracts/gitops.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { describeAction, planGitops } from '../lib/gitops/plan.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';

/** Passes per run before continue-as-new (a pass is about ten events plus two per action). */
export const DEFAULT_GITOPS_MAX_LOOPS = 500;

const gitops = proxyActivities<GitopsActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

function why(err: unknown): string {
  let e: unknown = err;
  while (e instanceof ActivityFailure && e.cause) e = e.cause;
  const type = e instanceof ApplicationFailure && e.type ? `${e.type}: ` : '';
  return `${type}${e instanceof Error ? e.message : String(e)}`;
}

export async function gitopsReconciler(input: GitopsReconcilerInput): Promise<void> {
  const maxLoops = input.maxLoops ?? DEFAULT_GITOPS_MAX_LOOPS;
  const status: GitopsStatus = {
    env: input.env,
    repo: input.repo,
    ref: input.ref,
    path: input.path,
    appliedCommit: input.carry?.appliedCommit ?? null,
    appliedAt: input.carry?.appliedAt ?? null,
    fetchedCommit: null,
    lastError: null,
    drift: [],
    history: [...(input.carry?.history ?? [])],
    loops: 0,
    lastCheckAt: null,
  };
  let wake = false;

  setHandler(gitopsStatusQuery, () => status);
  setHandler(gitopsSyncSignal, (payload) => {
    if (!gitopsSyncSchema.safeParse(payload).success) {
      log.warn('gitops sync signal refused: expected no payload or { reason }', { payload: JSON.stringify(payload).slice(0, 200) });
      return;
    }
    wake = true;
  });

  function record(r: Omit<GitopsActionRecord, 'at'>): void {
    status.history.push({ at: new Date().toISOString(), ...r });
    if (status.history.length > MAX_GITOPS_HISTORY) status.history.splice(0, status.history.length - MAX_GITOPS_HISTORY);
  }

  async function pass(): Promise<void> {
    status.lastCheckAt = new Date().toISOString();
    const fetched = await gitops.fetchDesiredState({ env: input.env, repo: input.repo, ref: input.ref, path: input.path });
    status.fetchedCommit = fetched.commit;
    if (!fetched.desired) {
      status.lastError = `commit ${fetched.commit.slice(0, 12)} not applied (still on ${status.appliedCommit?.slice(0, 12) ?? 'none'}): ${fetched.errors.join('; ')}`;
      return;
    }
    const desired = fetched.desired;
    const observed = await gitops.observeLifecycles({ models: desired.models.map((m) => m.name) });
    const actions = planGitops(desired, observed);
    const left: string[] = [];
    const problems: string[] = [];
    for (const action of actions) {
      const base = { commit: fetched.commit, kind: action.kind, model: action.model };
      try {
        const r = await gitops.applyGitopsAction({ action, commit: fetched.commit, env: input.env });
        if (r.outcome === 'reported') left.push(describeAction(action));
        else record({ ...base, ...r });
        if (r.outcome === 'refused' || r.outcome === 'failed') {
          left.push(describeAction(action));
          problems.push(`${action.kind} ${action.model}: ${r.detail}`);
        }
      } catch (err) {
        record({ ...base, outcome: 'failed', detail: why(err) });
        left.push(describeAction(action));
        problems.push(`${action.kind} ${action.model}: ${why(err)}`);
      }
    }
    status.drift = left;
    status.lastError = problems.length ? `commit ${fetched.commit.slice(0, 12)}: ${problems.join('; ')}` : null;
    if (problems.length === 0 && status.appliedCommit !== fetched.commit) {
      status.appliedCommit = fetched.commit;
      status.appliedAt = new Date().toISOString();
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.gitCommit, value: fetched.commit }]);
    }
  }

  if (status.appliedCommit) upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.gitCommit, value: status.appliedCommit }]);
  for (;;) {
    wake = false;
    try {
      await pass();
    } catch (err) {
      // Git unreachable, Temporal busy: reported, and the next pass tries again.
      status.lastError = why(err);
    }
    status.loops++;
    if (status.loops >= maxLoops || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      const carry = { appliedCommit: status.appliedCommit, appliedAt: status.appliedAt, history: status.history };
      await continueAsNew<typeof gitopsReconciler>({ ...input, carry });
    }
    await condition(() => wake, input.intervalMs);
  }
}
