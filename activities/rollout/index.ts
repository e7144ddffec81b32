// Rollout activities (CPU queue): set the inference server's canary/shadow for a step, analyse
// the step from the prediction log, and finish (promote) or roll back (compensate). Each is
// idempotent — setting a route or recording evidence twice gives the same state — so retries and
// replays after a crash are safe.
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Database } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { ALIASES, findAlias, type ModelRegistry } from '../../lib/registry/index.ts';
import { readFittedFeatures } from '../../lib/features/tabular/model-io.ts';
import { FEATURE_SPEC_TAG } from '../../lib/registry/tags.ts';
import { judgeStep, readArmStats, readValueEdges } from '../../lib/rollout/analysis.ts';
import type { TaskKind } from '../../lib/tasks/task.ts';
import {
  createServingAdmin,
  isNeutralServingAdminError,
  type ServingAdmin,
  type ServingAdminOptions,
} from '../../lib/rollout/serving-admin.ts';
import { CircuitBreaker } from '../../lib/resilience/breaker.ts';
import { restoreChampionAlias, type AliasOutcome } from './aliases.ts';
import type { AnalyzeInput, RolloutEvidence, RouteInput, StepAnalysis } from '../../lib/contracts/rollout.ts';
import type { ServingRoute } from '../../lib/contracts/serving-admin.ts';
import { putJson, type ArtifactStore } from '../../lib/storage/index.ts';

/** Registry version tags a rollout leaves: its outcome and where the evidence is. */
export const ROLLOUT_TAGS = { outcome: 'flywheel.rollout', evidence: 'flywheel.rollout.evidence' } as const;

/** Where the worker reaches the inference server's admin API. */
export type ServingTarget = Pick<ServingAdminOptions, 'url' | 'adminKey' | 'tls'>;

export interface RolloutActivityDeps {
  db: Database;
  registry: ModelRegistry;
  store: ArtifactStore;
  logger: Logger;
  /** The inference server to drive; a function so an embedded server can start after the worker. */
  serving: () => ServingTarget | undefined;
  /** Whether `rollout/<model>/v<n>` is running (rolloutRunningVia(client)); restoreOrphanedRoute
   * needs it to tell a terminated rollout's canary from a live one. */
  rolloutRunning?: (model: string, version: number) => Promise<boolean>;
}

/** Versions whose task an analysing worker remembers (a step is analysed every few seconds). */
const TASK_CACHE_MAX = 64;

/** The admin API calls' breaker: a call's deadline (the client's own), and how long an open
 * circuit fails the activity at once (a retryable failure: Temporal's retry policy waits). */
const SERVING_BREAKER = { timeoutMs: 10_000, failureThreshold: 3, resetAfterMs: 5000 } as const;

export function createRolloutActivities(deps: RolloutActivityDeps) {
  const tasks = new Map<string, Promise<TaskKind>>();
  // One breaker per server URL for this worker process: attempts of every rollout activity
  // towards a server that is down fail in milliseconds instead of each waiting out its timeout.
  const breakers = new Map<string, CircuitBreaker>();
  function breakerFor(url: string): CircuitBreaker {
    let breaker = breakers.get(url);
    if (!breaker) {
      breaker = new CircuitBreaker({
        ...SERVING_BREAKER,
        name: `the inference server ${url}`,
        isNeutral: isNeutralServingAdminError,
        onStateChange: (state) => deps.logger.warn({ url, state }, `inference server circuit ${state}`),
      });
      breakers.set(url, breaker);
    }
    return breaker;
  }

  /** The task a version serves, from its fitted features (feature-spec tag); a version without
   * the tag predates tasks and is binary. */
  function taskOf(model: string, version: number): Promise<TaskKind> {
    const key = `${model}/${version}`;
    let task = tasks.get(key);
    if (!task) {
      task = (async () => {
        const uri = (await deps.registry.getVersion(model, version)).tags[FEATURE_SPEC_TAG];
        return uri ? ((await readFittedFeatures(deps.store, uri)).task?.kind ?? 'binary') : 'binary';
      })();
      task.catch(() => tasks.delete(key));
      if (tasks.size >= TASK_CACHE_MAX) tasks.delete(tasks.keys().next().value!);
      tasks.set(key, task);
    }
    return task;
  }

  function admin(): ServingAdmin {
    const target = deps.serving();
    if (!target) {
      throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
        summary:
          'this model has rollout steps but the worker has no inference server: set FLYWHEEL_SERVING_URL (and FLYWHEEL_SERVING_ADMIN_KEY)',
      });
    }
    return createServingAdmin({ ...target, timeoutMs: SERVING_BREAKER.timeoutMs, breaker: breakerFor(target.url) });
  }

  /** A call to the admin API; the worker's failure table makes a permanent refusal a non-retryable InvalidConfig. */
  async function servingCall<T>(fn: (a: ServingAdmin) => Promise<T>): Promise<T> {
    return fn(admin());
  }

  async function writeEvidence(evidence: RolloutEvidence): Promise<string> {
    const key = `rollouts/${evidence.model}/v${evidence.challenger}/evidence.json`;
    const info = await putJson(deps.store, key, evidence);
    await deps.registry.setVersionTag(evidence.model, evidence.challenger, ROLLOUT_TAGS.outcome, evidence.outcome);
    await deps.registry.setVersionTag(evidence.model, evidence.challenger, ROLLOUT_TAGS.evidence, info.uri);
    return info.uri;
  }

  return {
    /** The champion the challenger is compared with; null: nothing serves yet (no rollout). */
    async currentChampion(input: { model: string }): Promise<number | null> {
      return (await findAlias(deps.registry, input.model, ALIASES.champion))?.version ?? null;
    },

    /**
     * Sets one step's routing and reads it back, so the evidence holds what the server applied.
     * A full (100%) canary keeps the champion as a shadow, so the analysis still compares both
     * models on the same requests rather than the challenger now against the champion earlier.
     */
    async setRolloutRoute(input: RouteInput): Promise<ServingRoute> {
      const full = !input.shadow && input.weight >= 100;
      const change = input.shadow
        ? { canary: null, shadow: { version: input.challenger } }
        : { canary: { version: input.challenger, weight: input.weight / 100 }, shadow: full ? { version: input.champion } : null };
      return servingCall(async (a) => {
        await a.setRoute(input.model, change);
        const route = await a.getRoute(input.model);
        const applied = input.shadow
          ? route.shadow?.version === input.challenger && !route.canary
          : route.canary?.version === input.challenger &&
            Math.abs(route.canary.weight - input.weight / 100) < 1e-9 &&
            (route.shadow?.version ?? null) === (full ? input.champion : null);
        if (!applied)
          throw new Error(`${input.model}: the server reports ${JSON.stringify(route)} after setting ${JSON.stringify(change)}`);
        deps.logger.info(
          { model: input.model, challenger: input.challenger, shadow: input.shadow, weight: input.weight },
          'rollout step routed',
        );
        return route;
      });
    },

    async analyzeRolloutStep(input: AnalyzeInput): Promise<StepAnalysis> {
      const until = new Date().toISOString();
      // The challenger's task decides the comparison (both serve the same model spec).
      const task = await taskOf(input.model, input.challenger);
      const query = (version: number, shadow: boolean) => ({ model: input.model, version, shadow, since: input.since, until });
      const valueEdges = task === 'regression' ? await readValueEdges(deps.db, query(input.champion, input.championShadow)) : undefined;
      const arm = (version: number, shadow: boolean) => readArmStats(deps.db, query(version, shadow), { task, valueEdges });
      const [challenger, champion] = await Promise.all([arm(input.challenger, input.shadow), arm(input.champion, input.championShadow)]);
      return { ...judgeStep(champion, challenger, input.criteria), window: { since: input.since, until }, champion, challenger };
    },

    /**
     * Compensation: the server routes everything to the champion again (it drops the model's
     * response cache on that change), the champion alias goes back only if it still points where
     * the rollout left it (restoreChampionAlias: a manual promotion is never undone), the
     * challenger alias no longer offers the version, and the evidence is stored and tagged on the
     * version. Also run when a rollout is cancelled or fails after its first route.
     */
    async rollbackRollout(input: {
      evidence: RolloutEvidence;
    }): Promise<{ evidenceUri: string; route: ServingRoute; champion: number | null; alias: AliasOutcome }> {
      const { model, challenger } = input.evidence;
      const route = await servingCall(async (a) => {
        await a.setRoute(model, { canary: null, shadow: null });
        return a.getRoute(model);
      });
      const alias = await restoreChampionAlias(deps.registry, input.evidence);
      const offered = await findAlias(deps.registry, model, ALIASES.challenger);
      if (offered?.version === challenger)
        await deps.registry.deleteAlias(model, ALIASES.challenger, {
          actor: 'flywheel:rollout',
          reason: `rolled back: ${input.evidence.reason}`,
        });
      const evidenceUri = await writeEvidence({ ...input.evidence, alias });
      deps.logger.warn(
        { model, challenger, champion: alias.champion, alias: alias.action, reason: input.evidence.reason, evidenceUri },
        'rollout rolled back',
      );
      return { evidenceUri, route, champion: alias.champion, alias };
    },

    /**
     * Reconciliation for a rollout that was terminated (termination runs no compensation): when
     * the server still routes a canary or shadow whose rollout workflow is not running, all
     * traffic goes back to the champion. Call it where no rollout of the model can be starting
     * (between cycles); a live rollout's route is left as it is.
     */
    async restoreOrphanedRoute(input: { model: string }): Promise<{ restored: boolean; version: number | null; route: ServingRoute }> {
      const running = deps.rolloutRunning;
      if (!running)
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: 'restoreOrphanedRoute needs a Temporal client (rolloutRunning)' });
      return servingCall(async (a) => {
        const route = await a.getRoute(input.model);
        const version = route.canary?.version ?? route.shadow?.version ?? null;
        if (version === null || (await running(input.model, version))) return { restored: false, version, route };
        await a.setRoute(input.model, { canary: null, shadow: null });
        deps.logger.warn({ model: input.model, version, was: route }, 'orphaned rollout route: all traffic back to the champion');
        return { restored: true, version, route: await a.getRoute(input.model) };
      });
    },

    /** After the champion alias moved: the server loads the new champion, then the canary is cleared. */
    async completeRollout(input: { evidence: RolloutEvidence }): Promise<{ evidenceUri: string; route: ServingRoute }> {
      const { model, challenger } = input.evidence;
      const route = await servingCall(async (a) => {
        const reloaded = await a.reload(model);
        if (reloaded.champion.version !== challenger)
          throw new Error(`${model}: the server still serves v${reloaded.champion.version} as champion after reload`);
        await a.setRoute(model, { canary: null, shadow: null });
        return a.getRoute(model);
      });
      const evidenceUri = await writeEvidence(input.evidence);
      return { evidenceUri, route };
    },
  };
}

export type RolloutActivities = ReturnType<typeof createRolloutActivities>;
