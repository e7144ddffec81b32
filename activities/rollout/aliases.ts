// The champion alias after a rollback, as a compare-and-set: the alias goes back to the captured
// champion only while it still points where the rollout left it. Someone who promoted a version
// by hand during the rollout keeps their promotion; the evidence says which case it was.
import { ALIASES, findAlias, type ModelRegistry } from '../../lib/registry/index.ts';
import type { RolloutEvidence } from '../../lib/contracts/rollout.ts';

export type AliasOutcome = NonNullable<RolloutEvidence['alias']>;

/**
 * `kept`: the captured champion still holds the alias; `restored`: the rollout's own promotion
 * (the challenger) is undone; `left`: another version (or none) holds it, moved by someone else.
 * The registry has no conditional set, so a move between the read and the write can still be
 * lost; the window is one registry round trip, not the rollout's hours.
 */
export async function restoreChampionAlias(registry: ModelRegistry, evidence: RolloutEvidence): Promise<AliasOutcome> {
  const { model, challenger, champion } = evidence;
  const current = (await findAlias(registry, model, ALIASES.champion))?.version ?? null;
  if (current === champion) return { action: 'kept', champion, note: champion === null ? 'no champion' : `v${champion} is still champion` };
  if (current === challenger && champion !== null) {
    await registry.setAlias(model, ALIASES.champion, champion, {
      actor: 'flywheel:rollout',
      reason: `rollback of v${challenger}: ${evidence.reason}`,
    });
    return { action: 'restored', champion, note: `v${challenger} had been promoted by this rollout; v${champion} restored` };
  }
  const now = current === null ? 'unset' : `v${current}`;
  return {
    action: 'left',
    champion: current,
    note: `the champion alias is ${now}, moved by someone else during the rollout (it started at v${champion ?? 'none'}); left as is`,
  };
}
