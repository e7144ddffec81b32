// The GitOps reconciler's activities (CPU worker): fetch the desired state of an environment at the
// head of a git ref, observe the running lifecycles, apply one planned action.
import { isAbsolute, join, normalize } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { ApplyGitopsActionInput, ApplyGitopsActionResult, FetchDesiredInput, FetchDesiredResult } from '../../lib/contracts/gitops.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import { loadDesiredState } from '../../lib/gitops/desired.ts';
import { executeAction } from '../../lib/gitops/execute.ts';
import { observeLifecycles } from '../../lib/gitops/observe.ts';
import type { ObservedLifecycle } from '../../lib/gitops/plan.ts';
import { saveModelSpec } from '../../lib/lifecycle/specs.ts';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { checkoutRef, GitSourceError } from './git.ts';

export interface GitopsActivityDeps {
  /** The worker's data folder; the git mirrors live under `<dataDir>/gitops`. */
  dataDir: string;
  client: () => Promise<Client>;
  store?: ArtifactStore;
  logger: Logger;
}

export function createGitopsActivities(deps: GitopsActivityDeps) {
  const cacheDir = join(deps.dataDir, 'gitops');
  return {
    /** The desired state at the head of `ref`; a commit whose files do not load answers `errors`. */
    async fetchDesiredState(input: FetchDesiredInput): Promise<FetchDesiredResult> {
      const sub = normalize(input.path || '.');
      if (isAbsolute(sub) || sub.startsWith('..'))
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: `path ${JSON.stringify(input.path)} is outside the repository` });
      let checkout;
      try {
        checkout = await checkoutRef(cacheDir, input.repo, input.ref, Context.current().cancellationSignal);
      } catch (err) {
        if (err instanceof GitSourceError) throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: err.message });
        throw err;
      }
      try {
        const desired = await loadDesiredState(join(checkout.dir, sub), { env: input.env });
        const models = desired.models.map(({ name, state, spec }) => ({ name, state, spec }));
        return { commit: checkout.commit, desired: { models, prune: desired.prune }, errors: [] };
      } catch (err) {
        // Paths in the message name the checkout; the commit's own paths read better.
        const message = (err instanceof Error ? err.message : String(err)).split(`${checkout.dir}/`).join('');
        return { commit: checkout.commit, errors: message.split('\n').filter((l) => l.trim()) };
      }
    },

    async observeLifecycles(input: { models: string[] }): Promise<ObservedLifecycle[]> {
      return observeLifecycles(await deps.client(), input.models);
    },

    async applyGitopsAction(input: ApplyGitopsActionInput): Promise<ApplyGitopsActionResult> {
      const result = await executeAction(input.action, {
        client: await deps.client(),
        actor: `gitops/${input.env}`,
        reason: `git commit ${input.commit.slice(0, 12)}`,
        ...(deps.store ? { saveSpec: (spec) => saveModelSpec(deps.store!, spec) } : {}),
      });
      deps.logger.info(
        { env: input.env, commit: input.commit, action: input.action.kind, model: input.action.model, ...result },
        'gitops action',
      );
      return result;
    },
  };
}

export type GitopsActivities = ReturnType<typeof createGitopsActivities>;
