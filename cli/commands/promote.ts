// `flywheel promote <model> <version> --from <env> --to <env>`: copy a registered version's
// artifacts between two environments of flywheel.yaml (checksums verified), register it in the
// target registry with lineage back to the source, then hand it to the target namespace's
// `promotion/<model>/v<n>` workflow, which waits for the approval the target's spec asks for and
// moves the champion alias. `flywheel promote approve|reject` decides a waiting one.
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { environmentEnv, loadGitopsManifest, type GitopsManifest } from '../../lib/gitops/manifest.ts';
import { promoteVersion, promotionApproval, PromotionError, type PromotionSide } from '../../lib/promotion/index.ts';
import { createRegistry } from '../../lib/registry/index.ts';
import { createArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import {
  approvePromotionUpdate,
  promoteAcrossEnvironmentsWorkflow,
  promotionStatusQuery,
  promotionWorkflowId,
  rejectPromotionUpdate,
  type PromotionInput,
  type PromotionResult,
} from '../../lib/contracts/promotion.ts';
import { CliError, EXIT_CODES, say } from '../output.ts';
import { connectCli, workflowResult, type CliConfig } from '../temporal-client.ts';

export interface PromoteOptions {
  /** The folder holding flywheel.yaml. @default '.' */
  dir: string;
  from: string;
  to: string;
  reason?: string;
  actor?: string;
  /** Return once the approval workflow started. @default false (wait for its result) */
  noWait?: boolean;
  /** The caller's environment (where ${VAR} references resolve). @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Progress and result lines. @default say */
  out?: (line: string) => void;
}

interface OpenedEnvironment extends PromotionSide {
  config: CliConfig;
  db: Database;
}

function environmentConfig(manifest: GitopsManifest, env: string, from: Readonly<Record<string, string | undefined>>): CliConfig {
  return loadConfig('cli', environmentEnv(manifest, env, from));
}

async function openEnvironment(
  manifest: GitopsManifest,
  env: string,
  from: Readonly<Record<string, string | undefined>>,
): Promise<OpenedEnvironment> {
  const config = environmentConfig(manifest, env, from);
  const { db } = await openDatabase(config.database);
  try {
    return { env, config, db, registry: createRegistry(config, db), store: await createArtifactStore(config.artifactStore) };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** Which registry an environment's configuration names: two environments sharing one would
 * promote a version onto itself (MLflow model names and built-in tables are not per environment). */
function registryIdentity(config: CliConfig): string {
  if (config.mlflow.trackingUri) return `mlflow ${config.mlflow.trackingUri}`;
  const where = config.database.kind === 'postgres' ? config.database.url.reveal() : config.database.dataDir;
  return `builtin ${where} schema ${config.database.schema ?? 'public'}`;
}

function positiveVersion(text: string): number {
  const version = Number(text);
  if (!Number.isInteger(version) || version <= 0)
    throw new CliError(`<version> must be a positive integer, got ${text}`, EXIT_CODES.config);
  return version;
}

/** Starts the target's approval workflow, or finds the one a previous run of this command started
 * (running or decided). */
async function startApproval(client: Client, input: PromotionInput) {
  const workflowId = promotionWorkflowId(input.model, input.version);
  await ensureSearchAttributes(client.connection, client.options.namespace);
  try {
    return await client.workflow.start(promoteAcrossEnvironmentsWorkflow, {
      workflowId,
      taskQueue: TASK_QUEUES.cpu,
      args: [input],
      // A decided promotion (approved or rejected) answers a re-run with its result; one that was
      // terminated, cancelled or failed may be asked again.
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      typedSearchAttributes: [
        { key: SEARCH_ATTRIBUTES.model, value: input.model },
        { key: SEARCH_ATTRIBUTES.version, value: input.version },
      ],
      staticSummary: `promote ${input.model} ${input.from.env} v${input.from.version} → ${input.to.env} v${input.version}`,
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      return client.workflow.getHandle<typeof promoteAcrossEnvironmentsWorkflow>(workflowId);
    throw err;
  }
}

function describe(result: PromotionResult, env: string): string {
  const o = result.outcome;
  const who = `${o.actor}: ${o.reason}${o.timedOut ? ' (timed out)' : ''}`;
  return o.decision === 'approved'
    ? `${env} ${result.model} v${result.version} is champion${result.previousChampion !== null ? ` (was v${result.previousChampion})` : ''} — approved by ${who}`
    : `${env} ${result.model} v${result.version} was rejected by ${who}; the champion stays ${result.champion !== null ? `v${result.champion}` : 'unset'}`;
}

/** The whole command; returns the workflow's result (undefined with noWait). A rejection throws. */
export async function runPromotion(model: string, version: number, options: PromoteOptions): Promise<PromotionResult | undefined> {
  const out = options.out ?? say;
  const callerEnv = options.env ?? process.env;
  const dir = resolve(options.dir);
  if (options.from === options.to)
    throw new CliError(`--from and --to both name ${options.from}: promotion goes from one environment to another`, EXIT_CODES.config);
  const manifest = await loadGitopsManifest(dir);
  if (
    registryIdentity(environmentConfig(manifest, options.from, callerEnv)) ===
    registryIdentity(environmentConfig(manifest, options.to, callerEnv))
  )
    throw new CliError(
      `${options.from} and ${options.to} share one model registry (the same MLFLOW_TRACKING_URI, or the same database and FLYWHEEL_DB_SCHEMA): give each environment its own`,
      EXIT_CODES.config,
    );
  const source = await openEnvironment(manifest, options.from, callerEnv);
  let target: OpenedEnvironment | undefined;
  try {
    target = await openEnvironment(manifest, options.to, callerEnv);
    const approval = await promotionApproval(dir, manifest, options.to, model);
    const actor = options.actor ?? target.config.actor ?? userInfo().username;
    const reason = options.reason ?? `promoted from ${options.from}`;
    const promoted = await promoteVersion({ model, version, source, target, onProgress: out });
    const input: PromotionInput = {
      model,
      version: promoted.target.version,
      from: {
        env: options.from,
        version: promoted.source.version,
        runId: promoted.source.runId,
        datasetVersion: promoted.source.lineage.datasetVersion,
      },
      to: { env: options.to },
      approval,
      requestedBy: { actor, reason },
    };
    const client = await connectCli(target.config.temporal);
    try {
      const handle = await startApproval(client, input);
      out(
        `${options.to}: ${handle.workflowId} in namespace ${target.config.temporal.namespace} (approval ${approval.mode}${
          approval.mode === 'manual' ? `: \`flywheel promote approve ${model} ${input.version} --env ${options.to} --reason …\`` : ''
        })`,
      );
      if (options.noWait) return undefined;
      const result = await workflowResult<PromotionResult>(handle);
      out(describe(result, options.to));
      if (result.outcome.decision === 'rejected')
        throw new CliError(`promotion of ${model} v${input.version} to ${options.to} was rejected`);
      return result;
    } finally {
      await client.connection.close();
    }
  } catch (err) {
    if (err instanceof PromotionError)
      throw new CliError(`promotion failed (${err.type}): ${err.message}`, EXIT_CODES.failed, { cause: err });
    throw err;
  } finally {
    await source.db.close();
    await target?.db.close();
  }
}

export interface DecideOptions {
  dir: string;
  env: string;
  reason: string;
  actor?: string;
  callerEnv?: Readonly<Record<string, string | undefined>>;
  out?: (line: string) => void;
}

/** `promote approve|reject`: the Update on the target environment's approval workflow. */
export async function decidePromotion(
  decision: 'approve' | 'reject',
  model: string,
  version: number,
  options: DecideOptions,
): Promise<void> {
  const out = options.out ?? say;
  const manifest = await loadGitopsManifest(resolve(options.dir));
  const config = environmentConfig(manifest, options.env, options.callerEnv ?? process.env);
  const actor = options.actor ?? config.actor ?? userInfo().username;
  const client = await connectCli(config.temporal);
  const handle = client.workflow.getHandle<typeof promoteAcrossEnvironmentsWorkflow>(promotionWorkflowId(model, version));
  try {
    const outcome = await handle.executeUpdate(decision === 'approve' ? approvePromotionUpdate : rejectPromotionUpdate, {
      args: [{ actor, reason: options.reason }],
    });
    out(`${options.env} ${model} v${version}: ${outcome.decision} by ${outcome.actor} (${outcome.reason})`);
    const status = await handle.query(promotionStatusQuery);
    out(`stage: ${status.stage}`);
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(err.cause?.message ?? err.message);
    if (err instanceof WorkflowNotFoundError)
      throw new CliError(`${handle.workflowId} does not exist in namespace ${config.temporal.namespace} (${options.env})`);
    throw err;
  } finally {
    await client.connection.close();
  }
}

export function registerPromoteCommands(program: Command): void {
  const fileOption = ['-f, --file <dir>', 'the folder holding flywheel.yaml', '.'] as const;
  const actorOption = ['--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)'] as const;
  const promote = program
    .command('promote')
    .description("copy a registered version to another environment of flywheel.yaml and make it that environment's champion")
    // `promote reject m 3 --reason …`: the options after a subcommand's name are the subcommand's.
    .enablePositionalOptions()
    // The operands are read in the action rather than registered: a registered argument lengthens
    // the command's term in `flywheel --help` and widens the whole listing's first column.
    .usage(
      '<model> <version> --from <env> --to <env> [options]\n       flywheel promote approve|reject <model> <version> --env <env> --reason <text>',
    )
    .allowExcessArguments()
    // Checked in the action: commander enforces a parent's required options on its subcommands too.
    .option('--from <env>', 'the source environment (required)')
    .option('--to <env>', 'the target environment (required)')
    .option(...fileOption)
    .option('--reason <text>', 'why (recorded; default: "promoted from <env>")')
    .option(...actorOption)
    .option('--no-wait', 'return once the approval workflow started')
    .action(
      async (opts: { from?: string; to?: string; file: string; reason?: string; actor?: string; wait: boolean }, command: Command) => {
        const [model, version, ...extra] = command.args;
        if (!model || !version || extra.length > 0)
          throw new CliError(`promote takes <model> <version>, got ${command.args.length} operand(s)`, EXIT_CODES.config);
        if (!opts.from || !opts.to) throw new CliError('promote needs --from <env> and --to <env>', EXIT_CODES.config);
        await runPromotion(model, positiveVersion(version), {
          dir: opts.file,
          from: opts.from,
          to: opts.to,
          noWait: !opts.wait,
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
          ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
        });
      },
    );

  for (const decision of ['approve', 'reject'] as const)
    promote
      .command(`${decision} <model> <version>`)
      .description(`${decision} a promotion waiting in its target environment`)
      .requiredOption('--env <env>', 'the target environment')
      .requiredOption('--reason <text>', 'why (recorded)')
      .option(...fileOption)
      .option(...actorOption)
      .action(async (model: string, version: string, opts: { env: string; reason: string; file: string; actor?: string }) => {
        await decidePromotion(decision, model, positiveVersion(version), {
          dir: opts.file,
          env: opts.env,
          reason: opts.reason,
          ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
        });
      });
}
