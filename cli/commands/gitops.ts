// `flywheel apply -f`, `flywheel diff -f` and `flywheel gitops …`: the desired state in git (a
// folder with flywheel.yaml and models/, or plain spec files) against what runs in an environment's
// namespace, and the reconciler workflow `gitops/<env>` that keeps them equal. docs/gitops.md.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { gitopsReconcilerWorkflow, gitopsStatusQuery, gitopsSyncSignal } from '../../lib/contracts/gitops.ts';
import { loadDesiredState, manifestDir, type DesiredState } from '../../lib/gitops/desired.ts';
import { executeAction } from '../../lib/gitops/execute.ts';
import { environmentEnv, loadGitopsManifest, MANIFEST_FILE } from '../../lib/gitops/manifest.ts';
import { observeLifecycles } from '../../lib/gitops/observe.ts';
import { describeAction, planGitops, type GitopsAction } from '../../lib/gitops/plan.ts';
import { saveModelSpec } from '../../lib/lifecycle/specs.ts';
import { durationMs } from '../../lib/model-spec/duration.ts';
import { createArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { grid, printJson, say, table } from '../output.ts';
import { withClient, type CliConfig } from '../temporal-client.ts';
import { userInfo } from 'node:os';

type Env = Record<string, string | undefined>;

/** The variables a command runs under: with --env, the caller's plus the environment's settings. */
async function envFor(path: string | undefined, env: string | undefined): Promise<Env> {
  if (env === undefined) return process.env;
  const dir = path === undefined ? undefined : await manifestDir(path);
  if (dir === undefined) {
    if (path === undefined) return process.env;
    throw new Error(`--env ${env} reads the environment's settings from ${MANIFEST_FILE}, and ${path} has none`);
  }
  return environmentEnv(await loadGitopsManifest(dir), env, process.env);
}

interface Planned {
  desired: DesiredState;
  actions: GitopsAction[];
}

async function plan(client: Client, config: CliConfig, path: string, env: string | undefined): Promise<Planned> {
  const desired = await loadDesiredState(path, { ...(env ? { env } : {}), defaultEnv: config.temporal.namespace });
  const observed = await observeLifecycles(
    client,
    desired.models.map((m) => m.name),
  );
  return { desired, actions: planGitops(desired, observed) };
}

/** `flywheel diff`'s JSON: the actions without the full specs. */
function actionJson(a: GitopsAction): object {
  const { kind, model } = a;
  return { kind, model, ...(a.kind === 'update' ? { changes: a.changes } : {}), ...(a.kind === 'unmanaged' ? { retire: a.retire } : {}) };
}

async function apply(client: Client, config: CliConfig, path: string, opts: { env?: string; force?: boolean }): Promise<void> {
  const { desired, actions } = await plan(client, config, path, opts.env);
  if (actions.length === 0) return say(`${desired.env}: nothing to do; ${desired.models.length} model(s) run as ${path} says.`);
  await ensureSearchAttributes(client.connection, config.temporal.namespace);
  const store = await createArtifactStore(config.artifactStore);
  let refused = 0;
  for (const action of actions) {
    const r = await executeAction(action, {
      client,
      actor: config.actor ?? userInfo().username,
      reason: `flywheel apply -f ${path}`,
      ...(opts.force ? { force: true } : {}),
      saveSpec: (spec) => saveModelSpec(store, spec),
    });
    say(`${describeAction(action)}\n  → ${r.outcome}: ${r.detail}`);
    if (r.outcome === 'refused' || r.outcome === 'failed') refused++;
  }
  if (refused) process.exitCode = 1;
}

async function diff(client: Client, config: CliConfig, path: string, opts: { env?: string; json?: boolean }): Promise<void> {
  const { desired, actions } = await plan(client, config, path, opts.env);
  if (opts.json) printJson({ env: desired.env, drift: actions.length > 0, actions: actions.map(actionJson) });
  else say(actions.length ? actions.map(describeAction).join('\n') : `${desired.env}: no drift (${desired.models.length} model(s))`);
  if (actions.length) process.exitCode = 1;
}

function reconcilerHandle(client: Client, env: string) {
  return client.workflow.getHandle(WORKFLOW_IDS.gitopsReconciler(env));
}

function notRunning(env: string, err: unknown): unknown {
  return err instanceof WorkflowNotFoundError
    ? new Error(`no reconciler ${WORKFLOW_IDS.gitopsReconciler(env)}: start it with \`flywheel gitops start --env ${env} --repo <url>\``)
    : err;
}

interface StartOptions {
  env: string;
  repo: string;
  ref: string;
  path: string;
  interval: string;
  file?: string;
}

export function registerGitopsCommands(program: Command): void {
  program
    .command('apply')
    .description('make what runs match the desired state: start, update (never a terminate), pause, resume, retire lifecycles')
    .requiredOption('-f, --file <dir|file>', `a folder with ${MANIFEST_FILE} (and models/), or model spec file(s)`)
    .option('--env <name>', `the environment in ${MANIFEST_FILE} (its settings are used: namespace, store, …)`)
    .option('--force', 'apply specs even while a rollout is in progress (the rollout keeps the spec it started with)')
    .action(async (opts: { file: string; env?: string; force?: boolean }) =>
      withClient((client, config) => apply(client, config, opts.file, opts), await envFor(opts.file, opts.env)),
    );

  program
    .command('diff')
    .description('what `flywheel apply` would do (exit 1 when anything differs, 0 when nothing: for CI)')
    .requiredOption('-f, --file <dir|file>', `a folder with ${MANIFEST_FILE} (and models/), or model spec file(s)`)
    .option('--env <name>', `the environment in ${MANIFEST_FILE}`)
    .option('--json', 'print { env, drift, actions } as JSON')
    .action(async (opts: { file: string; env?: string; json?: boolean }) =>
      withClient((client, config) => diff(client, config, opts.file, opts), await envFor(opts.file, opts.env)),
    );

  const gitops = program.command('gitops').description('the reconciler workflow gitops/<env> that applies a git repository');

  gitops
    .command('start')
    .description('start gitops/<env>: fetch the repository on an interval (and on `gitops sync`) and apply what changed')
    .requiredOption('--env <name>', "the environment (in the repository's flywheel.yaml)")
    .requiredOption('--repo <url>', 'any URL git can fetch (https://, ssh://, file://)')
    .option('--ref <ref>', 'branch, tag or commit', 'main')
    .option('--path <dir>', 'the folder holding flywheel.yaml inside the repository', '')
    .option('--interval <duration>', 'between two fetches when no sync comes', '60s')
    .option('-f, --file <dir>', `a local ${MANIFEST_FILE} folder to read the environment's settings from`)
    .action(async (opts: StartOptions) =>
      withClient(
        async (client, config) => {
          await ensureSearchAttributes(client.connection, config.temporal.namespace);
          const workflowId = WORKFLOW_IDS.gitopsReconciler(opts.env);
          const intervalMs = durationMs(opts.interval);
          try {
            await client.workflow.start(gitopsReconcilerWorkflow, {
              workflowId,
              taskQueue: TASK_QUEUES.cpu,
              args: [{ env: opts.env, repo: opts.repo, ref: opts.ref, path: opts.path, intervalMs }],
              typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.gitCommit, value: 'none' }],
              staticSummary: `GitOps reconciler of ${opts.env}: ${opts.repo}@${opts.ref}`,
            });
            say(`Started ${workflowId} in ${config.temporal.namespace}: ${opts.repo} @ ${opts.ref}, every ${opts.interval}.`);
          } catch (err) {
            if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
            say(`${workflowId} is already running (\`flywheel gitops status --env ${opts.env}\`).`);
          }
        },
        await envFor(opts.file, opts.env),
      ),
    );

  gitops
    .command('sync')
    .description('ask gitops/<env> to fetch and apply now (what the webhook does)')
    .requiredOption('--env <name>', 'the environment')
    .option('-f, --file <dir>', `a local ${MANIFEST_FILE} folder to read the environment's settings from`)
    .action(async (opts: { env: string; file?: string }) =>
      withClient(
        async (client) => {
          await reconcilerHandle(client, opts.env)
            .signal(gitopsSyncSignal, { reason: 'flywheel gitops sync' })
            .catch((err: unknown) => {
              throw notRunning(opts.env, err);
            });
          say(`Sync requested: ${WORKFLOW_IDS.gitopsReconciler(opts.env)}.`);
        },
        await envFor(opts.file, opts.env),
      ),
    );

  gitops
    .command('status')
    .description('the commit gitops/<env> applied, the last error, drift and recent actions')
    .requiredOption('--env <name>', 'the environment')
    .option('-f, --file <dir>', `a local ${MANIFEST_FILE} folder to read the environment's settings from`)
    .option('--json', 'print the status Query result')
    .action(async (opts: { env: string; file?: string; json?: boolean }) =>
      withClient(
        async (client) => {
          const s = await reconcilerHandle(client, opts.env)
            .query(gitopsStatusQuery)
            .catch((err: unknown) => {
              throw notRunning(opts.env, err);
            });
          if (opts.json) return printJson(s);
          say(
            table([
              ['env', s.env],
              ['source', `${s.repo} @ ${s.ref}${s.path ? ` (${s.path})` : ''}`],
              ['applied', s.appliedCommit ? `${s.appliedCommit} at ${s.appliedAt}` : '-'],
              ['fetched', s.fetchedCommit ?? '-'],
              ['last check', s.lastCheckAt ?? '-'],
              ['last error', s.lastError ?? '-'],
              ['drift', s.drift.length ? s.drift.join('\n               ') : 'none'],
            ]),
          );
          if (s.history.length)
            say(
              '\n' +
                grid(
                  ['AT', 'COMMIT', 'ACTION', 'MODEL', 'OUTCOME', 'DETAIL'],
                  s.history.slice(-15).map((h) => [h.at, h.commit.slice(0, 12), h.kind, h.model, h.outcome, h.detail.slice(0, 60)]),
                ),
            );
        },
        await envFor(opts.file, opts.env),
      ),
    );
}
