// The target environment's side of a cross-environment promotion (control queue): record who
// decided and why in the target registry, then (approved) move its champion alias to the promoted
// version. Idempotent: a retry finds the decision recorded and the alias already moved.
import type { Logger } from '../../lib/log.ts';
import { ALIASES, type ModelRegistry } from '../../lib/registry/index.ts';
import type { CompletePromotionInput, CompletePromotionResult } from '../../lib/contracts/promotion.ts';

export interface PromotionActivityDeps {
  registry: ModelRegistry;
  logger: Logger;
}

export function createPromotionActivities(deps: PromotionActivityDeps) {
  return {
    async completePromotion(input: CompletePromotionInput): Promise<CompletePromotionResult> {
      const { model, version, from, outcome } = input;
      // Fails NotFound (non-retryable) when the version is gone from the target registry.
      await deps.registry.getVersion(model, version);
      const recorded = await deps.registry.approvals(model, version);
      if (!recorded.some((r) => r.decision === outcome.decision && r.actor === outcome.actor && r.reason === outcome.reason))
        await deps.registry.recordApproval({ model, version, decision: outcome.decision, actor: outcome.actor, reason: outcome.reason });
      const current = (await deps.registry.getModel(model)).aliases[ALIASES.champion] ?? null;
      if (outcome.decision === 'rejected') return { champion: current, previousChampion: null };
      if (current === version) return { champion: version, previousChampion: null };
      const move = await deps.registry.setAlias(model, ALIASES.champion, version, {
        actor: outcome.actor,
        reason: `promoted from ${from.env} v${from.version}: ${outcome.reason}`,
      });
      deps.logger.info({ model, from: move.fromVersion, to: version, sourceEnv: from.env }, 'champion promoted across environments');
      return { champion: version, previousChampion: move.fromVersion };
    },
  };
}

export type PromotionActivities = ReturnType<typeof createPromotionActivities>;
