// rollout: progressive delivery of one approved version, a child of its cycle between approval
// and promotion (`rollout/<model>/v<n>`). Each step sets the inference server's shadow or canary
// weight, holds on a durable timer while the analysis reads the prediction log every interval,
// and passes only with enough evidence. A failed check, too little evidence after the longest
// extension, or an `abort` Update rolls back as a compensation (routing, aliases, evidence);
// after the last step the version is promoted. `pause`/`resume` stop and restart the hold clock.
// A cancel, or an activity failing for good once a route is set, runs the same compensation in a
// non-cancellable scope before the cancel or failure goes on; termination runs no code at all, so
// a rollout is cancelled, never terminated (docs/rollout.md). Every `checksBeforeContinueAsNew`
// analyses it continues as new, carrying its status, evidence and pause/abort state.
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  ContinueAsNew,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle/index.ts';
import type { RolloutActivities } from '../activities/rollout/index.ts';
import { innermostError, NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import type { AnalysisCriteria } from '../lib/rollout/analysis.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import { parseOrThrow } from '../lib/zod-issues.ts';
import {
  abortRolloutInput,
  abortRolloutUpdate,
  CHAMPION_SUPERSEDED,
  pauseRolloutInput,
  pauseRolloutUpdate,
  resumeRolloutInput,
  resumeRolloutUpdate,
  rolloutStatusQuery,
  type RolloutEvidence,
  type RolloutInput,
  type RolloutResult,
  type RolloutStatus,
} from '../lib/contracts/rollout.ts';
const retry = { initialInterval: '1s', maximumInterval: '15s', nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] };
// The server may be down for a while (a crash, a deploy): routing retries until it answers.
// Short timeouts, because a worker that dies mid-call is only noticed when they expire.
const serving = proxyActivities<RolloutActivities>({ taskQueue: TASK_QUEUES.control, startToCloseTimeout: '30 seconds', retry });
const { analyzeRolloutStep } = proxyActivities<RolloutActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '30 seconds',
  retry,
  summary: 'compare challenger and champion in the prediction log',
});
const { promoteToChampion } = proxyActivities<LifecycleActivities>({
  taskQueue: TASK_QUEUES.control,
  startToCloseTimeout: '30 seconds',
  retry,
  summary: 'move the champion alias to the rolled-out version',
});

function describeStep(step: { shadow: boolean; weight: number }): string {
  return step.shadow ? 'shadow' : `${step.weight}% canary`;
}

/** Analyses per run before continue-as-new (~11 events each: ~1,100 events a run). */
export const DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW = 100;

/** An Update payload checked with its zod schema; the message names every bad field. */
function checked(update: string, schema: Parameters<typeof parseOrThrow>[0], payload: unknown): void {
  parseOrThrow(
    schema,
    payload,
    (issues) => new Error(`${update} needs ${update === 'resume' ? '{ actor }' : '{ actor, reason }'}:\n${issues}`),
  );
}

function superseded(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === CHAMPION_SUPERSEDED ? cause.message : undefined;
}

export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { model, challenger, plan, carried } = input;
  const a = plan.analysis;
  const criteria: AnalysisCriteria = {
    minSamples: a.minSamples,
    maxErrorRateIncrease: a.maxErrorRateIncrease,
    maxP99Ratio: a.maxP99Ratio,
    p99FloorMs: a.p99FloorMs,
    maxPredictionShift: a.maxPredictionShift,
    minLabels: a.minLabels,
    maxAucDrop: a.maxAucDrop,
    // Optional per-task limits (multiclass, regression); absent in plans written before tasks.
    ...(a.maxAccuracyDrop !== undefined ? { maxAccuracyDrop: a.maxAccuracyDrop } : {}),
    ...(a.maxRmseIncrease !== undefined ? { maxRmseIncrease: a.maxRmseIncrease } : {}),
  };
  const intervalMs = durationMs(a.interval);
  const maxExtensionMs = durationMs(a.maxExtension);
  const checksPerRun = Math.max(1, input.checksBeforeContinueAsNew ?? DEFAULT_CHECKS_BEFORE_CONTINUE_AS_NEW);

  const status: RolloutStatus = carried
    ? { ...carried.status, runs: (carried.status.runs ?? 1) + 1 }
    : { model, challenger, champion: null, state: 'starting', step: 0, steps: plan.steps.length, heldMs: 0 };
  let paused = carried?.paused ?? false;
  let aborted: string | undefined = carried?.aborted;
  const finished = () => status.state === 'completed' || status.state === 'rolled-back' || status.state === 'skipped';
  const ended = () => `the rollout of ${model} v${challenger} has ended (${status.state})`;
  // Once the promotion began, pausing or aborting would be a promise the rollout cannot keep.
  const promoting = () => `the rollout of ${model} v${challenger} passed every step and is promoting it`;

  setHandler(rolloutStatusQuery, () => status);
  setHandler(
    pauseRolloutUpdate,
    ({ actor, reason }) => {
      paused = true;
      status.state = 'paused';
      status.pausedBy = `${actor}: ${reason}`;
      return status;
    },
    {
      validator: (payload: unknown) => {
        checked('pause', pauseRolloutInput, payload);
        if (finished()) throw new Error(ended());
        if (status.state === 'promoting') throw new Error(promoting());
        if (paused) throw new Error('the rollout is already paused');
      },
    },
  );
  setHandler(
    resumeRolloutUpdate,
    ({ actor }) => {
      paused = false;
      status.state = 'running';
      status.resumedBy = actor;
      delete status.pausedBy;
      return status;
    },
    {
      validator: (payload: unknown) => {
        checked('resume', resumeRolloutInput, payload);
        if (!paused) throw new Error('the rollout is not paused');
      },
    },
  );
  setHandler(
    abortRolloutUpdate,
    ({ actor, reason }) => {
      aborted = `aborted by ${actor}: ${reason}`;
      return status;
    },
    {
      validator: (payload: unknown) => {
        checked('abort', abortRolloutInput, payload);
        if (finished()) throw new Error(ended());
        if (status.state === 'promoting') throw new Error(promoting());
      },
    },
  );

  let champion: number;
  let evidence: RolloutEvidence;
  if (carried) {
    champion = carried.status.champion!;
    evidence = carried.evidence;
  } else {
    const current = await serving.currentChampion({ model });
    status.champion = current;
    status.runs = 1;
    if (current === null || current === challenger || plan.steps.length === 0) {
      // Nothing serves yet to compare with (the first version), or nothing to do.
      const reason =
        current === null
          ? 'no champion to compare with: promoted directly'
          : plan.steps.length === 0
            ? 'no rollout steps'
            : `v${challenger} already champion`;
      await promoteToChampion({ model, version: challenger, actor: input.approvedBy, reason: `${input.reason} (${reason})` });
      status.state = 'skipped';
      status.champion = challenger;
      setCurrentDetails(`**skipped**: ${reason}`);
      return { outcome: 'skipped', model, challenger, champion: challenger, reason };
    }
    champion = current;
    evidence = {
      model,
      challenger,
      champion,
      outcome: 'completed',
      reason: '',
      steps: plan.steps.map((s, index) => ({ index, plan: { shadow: s.shadow, weight: s.weight }, route: null, analysis: null })),
    };
  }

  let compensating = false;
  async function rollBack(reason: string): Promise<RolloutResult> {
    compensating = true;
    evidence.outcome = 'rolled-back';
    evidence.reason = reason;
    setCurrentDetails(`**rolling back** v${challenger}: ${reason}`);
    // Non-cancellable: a cancel arriving mid-compensation must not leave the canary split.
    const done = await CancellationScope.nonCancellable(() => serving.rollbackRollout({ evidence }));
    status.state = 'rolled-back';
    // Results recorded before the compare-and-set carry no alias outcome: the champion was reset.
    const now = done.alias ? done.alias.champion : champion;
    status.champion = now;
    const alias = done.alias?.action === 'left' ? ` (champion alias ${done.alias.note})` : '';
    setCurrentDetails(`**rolled back** v${challenger}; v${now ?? 'none'} stays champion${alias}: ${reason}`);
    return { outcome: 'rolled-back', model, challenger, champion: now, reason, evidenceUri: done.evidenceUri };
  }

  /** Before a route change or the promotion: a pause holds here, then an abort is honoured. True
   * when the rollout was aborted. Patched: histories from before replay without the wait. */
  async function atBoundary(what: string): Promise<boolean> {
    if (!(paused || aborted !== undefined) || !patched('rollout-boundary-checks')) return false;
    if (paused) {
      setCurrentDetails(`**paused** before ${what} (${status.pausedBy ?? ''})`);
      await condition(() => !paused || aborted !== undefined);
    }
    return aborted !== undefined;
  }

  // The current step's window (ISO start) once its route is set; a carried run resumes mid-step.
  let since: string | undefined = carried?.since;
  let routed = carried !== undefined;
  let checksThisRun = 0;
  if (!carried && !paused) status.state = 'running';
  try {
    for (let i = status.step; i < plan.steps.length; i++) {
      const step = plan.steps[i]!;
      const holdMs = durationMs(step.hold);
      const label = `step ${i + 1}/${plan.steps.length}: ${describeStep(step)}`;
      if (since === undefined) {
        status.step = i;
        status.heldMs = 0;
        if ((await atBoundary(label)) || aborted) return await rollBack(aborted!);
        routed = true;
        evidence.steps[i]!.route = await serving.setRolloutRoute({ model, champion, challenger, shadow: step.shadow, weight: step.weight });
        since = new Date().toISOString();
      }
      for (;;) {
        if ((checksThisRun >= checksPerRun || workflowInfo().continueAsNewSuggested) && patched('rollout-continue-as-new')) {
          await condition(allHandlersFinished);
          await continueAsNew<typeof rollout>({
            ...input,
            carried: { status, evidence, paused, ...(aborted !== undefined ? { aborted } : {}), since },
          });
        }
        setCurrentDetails(
          `**${label}**, held ${Math.round(status.heldMs / 1000)}s of ${Math.round(holdMs / 1000)}s${status.last ? ` — last check: ${status.last.verdict}` : ''}`,
        );
        const t0 = Date.now();
        // Wakes early for a pause or an abort; only time not paused counts towards the hold.
        await condition(() => paused || aborted !== undefined, Math.min(intervalMs, Math.max(1000, holdMs - status.heldMs)));
        status.heldMs += Date.now() - t0;
        if (paused) {
          setCurrentDetails(`**paused** at ${label} (${status.pausedBy ?? ''})`);
          await condition(() => !paused || aborted !== undefined);
        }
        if (aborted) return await rollBack(aborted);
        const analysis = await analyzeRolloutStep({
          model,
          champion,
          challenger,
          shadow: step.shadow,
          championShadow: !step.shadow && step.weight >= 100,
          since,
          criteria,
        });
        checksThisRun++;
        status.checks = (status.checks ?? 0) + 1;
        evidence.steps[i]!.analysis = analysis;
        status.last = {
          verdict: analysis.verdict,
          reasons: analysis.reasons,
          challengerSamples: analysis.challenger.samples,
          championSamples: analysis.champion.samples,
        };
        if (analysis.verdict === 'fail') return await rollBack(`${label} failed: ${analysis.reasons.join('; ')}`);
        if (status.heldMs >= holdMs) {
          if (analysis.verdict === 'pass') break;
          if (status.heldMs >= holdMs + maxExtensionMs)
            return await rollBack(
              `${label}: not enough evidence after the hold and its ${a.maxExtension} extension (${analysis.reasons.join('; ')})`,
            );
        }
      }
      since = undefined;
    }

    status.step = plan.steps.length;
    if (await atBoundary('the promotion')) return await rollBack(aborted!);
    status.state = 'promoting';
    setCurrentDetails(`**promoting** v${challenger}: every step passed`);
    const reason = `rollout passed ${plan.steps.length} steps (${plan.steps.map(describeStep).join(' → ')})`;
    try {
      // Compare-and-set: a version promoted by hand during the rollout is not clobbered.
      await promoteToChampion({
        model,
        version: challenger,
        actor: input.approvedBy,
        reason: `${input.reason}; ${reason}`,
        expectedChampion: champion,
      });
    } catch (err) {
      const by = superseded(err);
      if (by === undefined) throw err;
      return await rollBack(`superseded: ${by}`);
    }
    evidence.reason = reason;
    const { evidenceUri } = await serving.completeRollout({ evidence });
    status.state = 'completed';
    status.champion = challenger;
    setCurrentDetails(`**completed**: v${challenger} is champion (${reason}) — ${workflowInfo().workflowId}`);
    return { outcome: 'completed', model, challenger, champion: challenger, reason, evidenceUri };
  } catch (err) {
    // Compensation for a cancel or a permanent failure once a route may be set: the champion gets
    // all traffic back before the cancel or failure is reported. Patched for histories before it.
    if (err instanceof ContinueAsNew || !routed || compensating || !patched('rollout-compensate-on-failure')) throw err;
    const why = isCancellation(err) ? 'cancelled' : `failed: ${innermostError(err as Error).message}`;
    try {
      const where = status.step < plan.steps.length ? `step ${status.step + 1}/${plan.steps.length}` : 'the promotion';
      await rollBack(`${why} at ${where}`);
    } catch (compensation) {
      log.error('the rollback after a cancel or failure failed', { error: (compensation as Error).message });
    }
    throw err;
  }
}
