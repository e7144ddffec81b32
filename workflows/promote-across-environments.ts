// The approval half of a cross-environment promotion, run in the TARGET environment's namespace
// (`promotion/<model>/v<version>`): the version is already copied and registered there (lib/promotion);
// a manual spec waits for an `approve`/`reject` Update until its timeout (then its default applies),
// an automatic one approves in the requester's name at once; either way one activity records the
// decision in the target registry and, when approved, moves the champion alias.
import { condition, log, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { PromotionActivities } from '../activities/promotion/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../lib/temporal/search-attributes.ts';
import {
  approvePromotionUpdate,
  promotionDecisionSchema,
  promotionStatusQuery,
  rejectPromotionUpdate,
  type PromotionDecisionInput,
  type PromotionInput,
  type PromotionOutcome,
  type PromotionResult,
  type PromotionStage,
  type PromotionStatus,
} from '../lib/contracts/promotion.ts';

const { completePromotion } = proxyActivities<PromotionActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1s', maximumInterval: '15s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
  summary: 'record the decision and move the champion alias in the target registry',
});

export async function promoteAcrossEnvironments(input: PromotionInput): Promise<PromotionResult> {
  const manual = input.approval.mode === 'manual';
  let stage: PromotionStage = manual ? 'awaiting-approval' : 'promoting';
  // `FlywheelStage = "awaiting-approval"` lists every promotion waiting for a person in the Web UI.
  const showStage = () => upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
  showStage();
  let outcome: PromotionOutcome | undefined;
  const deadline = manual ? new Date(Date.now() + input.approval.timeoutMs).toISOString() : undefined;

  setHandler(promotionStatusQuery, (): PromotionStatus => ({
    model: input.model,
    version: input.version,
    from: input.from,
    to: input.to,
    stage,
    approval: input.approval,
    ...(deadline ? { deadline } : {}),
    ...(outcome ? { outcome } : {}),
  }));

  function validate(decision: unknown): void {
    if (stage !== 'awaiting-approval')
      throw new Error(
        `${input.model} v${input.version} is not awaiting approval in ${input.to.env} (it is ${stage}${manual ? '' : ': approval mode is automatic'})`,
      );
    const parsed = promotionDecisionSchema.safeParse(decision);
    if (!parsed.success) throw new Error(parsed.error.issues[0]!.message);
  }
  function decide(decision: PromotionOutcome['decision']) {
    return (by: PromotionDecisionInput): PromotionOutcome => {
      // The validator saw the stage; a second Update accepted in the same task finds it decided.
      outcome ??= { decision, actor: by.actor.trim(), reason: by.reason.trim(), timedOut: false };
      stage = 'promoting';
      return outcome;
    };
  }
  setHandler(approvePromotionUpdate, decide('approved'), { validator: validate });
  setHandler(rejectPromotionUpdate, decide('rejected'), { validator: validate });

  if (manual) {
    const decided = await condition(() => outcome !== undefined, input.approval.timeoutMs);
    if (!decided) {
      outcome = {
        decision: input.approval.default === 'approve' ? 'approved' : 'rejected',
        actor: 'flywheel',
        reason: `no decision within ${Math.round(input.approval.timeoutMs / 1000)} s: the spec's default (${input.approval.default}) applies`,
        timedOut: true,
      };
      log.info('promotion approval timed out', { model: input.model, version: input.version, decision: outcome.decision });
    }
  } else {
    outcome = {
      decision: 'approved',
      actor: input.requestedBy.actor,
      reason: `automatic approval: ${input.requestedBy.reason}`,
      timedOut: false,
    };
  }
  stage = 'promoting';
  const final = outcome!;
  const moved = await completePromotion({ model: input.model, version: input.version, from: input.from, outcome: final });
  stage = final.decision === 'approved' ? 'promoted' : 'rejected';
  showStage();
  return { model: input.model, version: input.version, outcome: final, ...moved };
}
