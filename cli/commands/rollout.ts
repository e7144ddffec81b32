// `flywheel rollout …`: watch and steer a model's progressive rollout (`rollout/<model>/v<n>`)
// through its Query and Updates — the same ones the Web UI and `temporal workflow update` use.
import { userInfo } from 'node:os';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { printJson, say, table } from '../output.ts';
import { withClient, type CliConfig } from '../temporal-client.ts';
import { statusQuery } from '../../lib/contracts/model-lifecycle.ts';
import {
  abortRolloutUpdate,
  pauseRolloutUpdate,
  resumeRolloutUpdate,
  rolloutStatusQuery,
  type RolloutStatus,
} from '../../lib/contracts/rollout.ts';

interface Target {
  version?: string;
  actor?: string;
}

/** `--version`, else the version the lifecycle's current cycle is rolling out. */
async function rolloutHandle(client: Client, model: string, opts: Target) {
  let version = opts.version !== undefined ? Number(opts.version) : undefined;
  if (version !== undefined && !(Number.isInteger(version) && version > 0))
    throw new Error(`--version must be a positive integer, got ${opts.version}`);
  if (version === undefined) {
    const status = await client.workflow
      .getHandle(WORKFLOW_IDS.modelLifecycle(model))
      .query(statusQuery)
      .catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
    if (status?.current?.stage !== 'rollout' || !status.current.version) {
      throw new Error(
        `no rollout of ${model} is running now${status?.current ? ` (its cycle ${status.current.cycle} is at ${status.current.stage})` : ''}; name one with --version <n>`,
      );
    }
    version = status.current.version;
  }
  return client.workflow.getHandle(WORKFLOW_IDS.rollout(model, version));
}

function render(s: RolloutStatus): string {
  return table([
    ['Rollout', `rollout/${s.model}/v${s.challenger}`],
    ['State', s.state + (s.pausedBy ? ` (${s.pausedBy})` : '')],
    ['Champion', s.champion ? `v${s.champion}` : 'none'],
    ['Step', s.step >= s.steps ? `all ${s.steps} passed` : `${s.step + 1} of ${s.steps}, held ${Math.round(s.heldMs / 1000)}s`],
    [
      'Last check',
      s.last
        ? `${s.last.verdict}: challenger ${s.last.challengerSamples} / champion ${s.last.championSamples} predictions${s.last.reasons.length ? ` — ${s.last.reasons.join('; ')}` : ''}`
        : 'none yet',
    ],
    // Runs: the rollout continues as new every so many checks (bounded history), same ID.
    ['Checks', `${s.checks ?? 0} in ${s.runs ?? 1} run${(s.runs ?? 1) === 1 ? '' : 's'}`],
  ]);
}

async function update(
  model: string,
  opts: Target,
  run: (handle: Awaited<ReturnType<typeof rolloutHandle>>, actor: string) => Promise<RolloutStatus>,
  config: CliConfig,
  client: Client,
): Promise<void> {
  const handle = await rolloutHandle(client, model, opts);
  const actor = opts.actor ?? config.actor ?? userInfo().username;
  try {
    say(render(await run(handle, actor)));
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(err.cause?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError) throw new Error(`${handle.workflowId} does not exist`);
    throw err;
  }
}

export function registerRolloutCommands(program: Command): void {
  const rollout = program.command('rollout').description("a model's progressive rollout: status, pause, resume, abort");
  const versionOption = ['--version <n>', 'the version rolled out (default: the one the current cycle rolls out)'] as const;
  const actorOption = ['--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)'] as const;

  rollout
    .command('status <model>')
    .description('the step, time held and the last analysis verdict')
    .option(...versionOption)
    .option('--json', 'print the status Query result as JSON')
    .action((model: string, opts: Target & { json?: boolean }) =>
      withClient(async (client) => {
        const handle = await rolloutHandle(client, model, opts);
        const status = await handle.query(rolloutStatusQuery);
        if (opts.json) printJson(status);
        else say(render(status));
      }),
    );

  rollout
    .command('pause <model>')
    .description('stop the hold clock; routing stays as it is')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option(...versionOption)
    .option(...actorOption)
    .action((model: string, opts: Target & { reason: string }) =>
      withClient((client, config) =>
        update(model, opts, (h, actor) => h.executeUpdate(pauseRolloutUpdate, { args: [{ actor, reason: opts.reason }] }), config, client),
      ),
    );

  rollout
    .command('resume <model>')
    .description('restart the hold clock of a paused rollout')
    .option(...versionOption)
    .option(...actorOption)
    .action((model: string, opts: Target) =>
      withClient((client, config) =>
        update(model, opts, (h, actor) => h.executeUpdate(resumeRolloutUpdate, { args: [{ actor }] }), config, client),
      ),
    );

  rollout
    .command('abort <model>')
    .description('roll back now: the champion keeps all traffic; the reason is recorded with the evidence')
    .requiredOption('--reason <text>', 'why (recorded)')
    .option(...versionOption)
    .option(...actorOption)
    .action((model: string, opts: Target & { reason: string }) =>
      withClient((client, config) =>
        update(model, opts, (h, actor) => h.executeUpdate(abortRolloutUpdate, { args: [{ actor, reason: opts.reason }] }), config, client),
      ),
    );
}
