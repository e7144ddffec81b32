// rollout: progressive delivery of one approved version, a child of its cycle between approval
// and promotion (`rollout/<model>/v<n>`). Each step sets the inference server's shadow or canary
// weight, holds on a durable timer while the analysis reads the prediction log every interval,
// and passes only with enough evidence. A failed check, too little evidence after the longest
// extension, or an `abort` Update rolls back as a compensation (routing, aliases, evidence);
// after the last step the version is promoted. `pause`/`resume` stop and restart the hold clock.
import { condition, proxyActivities, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import type { LifecycleActivities } from '../activities/lifecycle/index.ts';
import type { RolloutActivities } from '../activities/rollout/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import type { AnalysisCriteria } from '../lib/rollout/analysis.ts';
import { durationMs } from '../lib/model-spec/duration.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import {
  abortRolloutUpdate,
  pauseRolloutUpdate,
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
const serving = proxyActivities<RolloutActivities>({ taskQueue: TASK_QUEUES.cpu, startToCloseTimeout: '30 seconds', retry });
const { analyzeRolloutStep } = proxyActivities<RolloutActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '30 seconds',
  retry,
  summary: 'compare challenger and champion in the prediction log',
});
const { promoteToChampion } = proxyActivities<LifecycleActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '30 seconds',
  retry,
  summary: 'move the champion alias to the rolled-out version',
});

function describeStep(step: { shadow: boolean; weight: number }): string {
  return step.shadow ? 'shadow' : `${step.weight}% canary`;
}

export async function rollout(input: RolloutInput): Promise<RolloutResult> {
  const { model, challenger, plan } = input;
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

  const status: RolloutStatus = { model, challenger, champion: null, state: 'starting', step: 0, steps: plan.steps.length, heldMs: 0 };
  let paused = false;
  let aborted: string | undefined;
  const finished = () => status.state === 'completed' || status.state === 'rolled-back' || status.state === 'skipped';

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
      validator: ({ actor, reason }) => {
        if (!actor || !reason) throw new Error('pause needs an actor and a reason');
        if (finished()) throw new Error(`the rollout of ${model} v${challenger} has ended (${status.state})`);
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
      validator: ({ actor }) => {
        if (!actor) throw new Error('resume needs an actor');
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
      validator: ({ actor, reason }) => {
        if (!actor || !reason) throw new Error('abort needs an actor and a reason');
        if (finished()) throw new Error(`the rollout of ${model} v${challenger} has ended (${status.state})`);
      },
    },
  );

  const champion = await serving.currentChampion({ model });
  status.champion = champion;
  if (champion === null || champion === challenger || plan.steps.length === 0) {
    // Nothing serves yet to compare with (the first version), or nothing to do.
    const reason =
      champion === null
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

  const evidence: RolloutEvidence = {
    model,
    challenger,
    champion,
    outcome: 'completed',
    reason: '',
    steps: plan.steps.map((s, index) => ({ index, plan: { shadow: s.shadow, weight: s.weight }, route: null, analysis: null })),
  };

  async function rollBack(reason: string): Promise<RolloutResult> {
    evidence.outcome = 'rolled-back';
    evidence.reason = reason;
    setCurrentDetails(`**rolling back** v${challenger}: ${reason}`);
    const { evidenceUri } = await serving.rollbackRollout({ evidence });
    status.state = 'rolled-back';
    setCurrentDetails(`**rolled back** v${challenger}; v${champion} stays champion: ${reason}`);
    return { outcome: 'rolled-back', model, challenger, champion, reason, evidenceUri };
  }

  status.state = 'running';
  for (let i = 0; i < plan.steps.length; i++) {
    const step = plan.steps[i]!;
    status.step = i;
    status.heldMs = 0;
    if (aborted) return rollBack(aborted);
    evidence.steps[i]!.route = await serving.setRolloutRoute({ model, champion, challenger, shadow: step.shadow, weight: step.weight });
    const since = new Date().toISOString();
    const holdMs = durationMs(step.hold);
    const label = `step ${i + 1}/${plan.steps.length}: ${describeStep(step)}`;
    for (;;) {
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
      if (aborted) return rollBack(aborted);
      const analysis = await analyzeRolloutStep({
        model,
        champion,
        challenger,
        shadow: step.shadow,
        championShadow: !step.shadow && step.weight >= 100,
        since,
        criteria,
      });
      evidence.steps[i]!.analysis = analysis;
      status.last = {
        verdict: analysis.verdict,
        reasons: analysis.reasons,
        challengerSamples: analysis.challenger.samples,
        championSamples: analysis.champion.samples,
      };
      if (analysis.verdict === 'fail') return rollBack(`${label} failed: ${analysis.reasons.join('; ')}`);
      if (status.heldMs >= holdMs) {
        if (analysis.verdict === 'pass') break;
        if (status.heldMs >= holdMs + maxExtensionMs)
          return rollBack(
            `${label}: not enough evidence after the hold and its ${a.maxExtension} extension (${analysis.reasons.join('; ')})`,
          );
      }
    }
  }

  status.step = plan.steps.length;
  setCurrentDetails(`**promoting** v${challenger}: every step passed`);
  const reason = `rollout passed ${plan.steps.length} steps (${plan.steps.map(describeStep).join(' → ')})`;
  await promoteToChampion({ model, version: challenger, actor: input.approvedBy, reason: `${input.reason}; ${reason}` });
  evidence.reason = reason;
  const { evidenceUri } = await serving.completeRollout({ evidence });
  status.state = 'completed';
  status.champion = challenger;
  setCurrentDetails(`**completed**: v${challenger} is champion (${reason}) — ${workflowInfo().workflowId}`);
  return { outcome: 'completed', model, challenger, champion: challenger, reason, evidenceUri };
}
