// `flywheel pipeline …`: start a model's lifecycle from its spec, watch it, approve or reject a
// challenger, ask for a retrain. Everything goes through the `modelLifecycle` workflow
// (`model/<name>`), so the Web UI, the `temporal` CLI and this command always agree.
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Command } from 'commander';
import { diffSpecs, formatSpecChanges } from '../../lib/lifecycle/spec-diff.ts';
import { saveModelSpec } from '../../lib/lifecycle/specs.ts';
import { startLifecycle } from '../../lib/gitops/execute.ts';
import { loadModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { createArtifactStore } from '../../lib/storage/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { grid, printJson, printJsonLine, say, table } from '../output.ts';
import { isClosed, withClient, workflowResult, type CliConfig } from '../temporal-client.ts';
import {
  approveUpdate,
  rejectUpdate,
  retrainSignal,
  setStateUpdate,
  specQuery,
  statusQuery,
  updateSpecUpdate,
  type LifecycleDesiredState,
  type LifecycleStatus,
} from '../../lib/contracts/model-lifecycle.ts';
import type { TrainHeartbeat } from '../../lib/contracts/train-model.ts';

function noLifecycle(model: string, err: unknown): unknown {
  return err instanceof WorkflowNotFoundError
    ? new Error(`no lifecycle for ${model}: start it with \`flywheel pipeline start <spec.yaml>\``)
    : err;
}

async function readStatus(client: Client, model: string): Promise<LifecycleStatus> {
  try {
    return await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).query(statusQuery);
  } catch (err) {
    throw noLifecycle(model, err);
  }
}

/** The training epoch and metrics, from the train workflow's pending activity heartbeat. */
async function trainingProgress(client: Client, trainWorkflowId: string): Promise<string | undefined> {
  try {
    const desc = await client.workflow.getHandle(trainWorkflowId).describe();
    const payload = desc.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
    if (!payload) return undefined;
    const beat = defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload);
    const metrics = Object.entries(beat.metrics ?? {})
      .map(([k, v]) => `${k}=${Number(v).toFixed(4)}`)
      .join(' ');
    return `epoch ${beat.epoch}, step ${beat.step}${metrics ? `, ${metrics}` : ''}`;
  } catch {
    return undefined;
  }
}

/** The task's main test metric: ROC AUC (binary), accuracy (multiclass) or RMSE (regression). */
function fmtMetrics(metrics?: Record<string, number>): string {
  if (!metrics) return '-';
  const auc = metrics.roc_auc ?? metrics.rocAuc;
  if (auc !== undefined) return `auc ${auc.toFixed(4)}`;
  if (metrics.accuracy !== undefined) return `accuracy ${metrics.accuracy.toFixed(4)}`;
  if (metrics.rmse !== undefined) return `rmse ${metrics.rmse.toFixed(4)}`;
  return '-';
}

/** The status row for malformed signals the lifecycle refused (docs/lifecycle.md). */
function refusedRow(refused: NonNullable<LifecycleStatus['refused']>): [string, string] {
  const last = refused.at(-1)!;
  return ['refused', `${refused.length} malformed signal(s); last: ${last.handler} at ${last.at} (${last.reason.slice(0, 80)})`];
}

/** The owner's desired state and its last change (`setState`; docs/lifecycle.md). */
function desiredRow(status: LifecycleStatus): [string, string] {
  const desired = status.desiredState ?? 'active';
  const change = status.desiredStateChange;
  if (!change) return ['desired', desired];
  const errors = change.errors?.length ? `; not in step: ${change.errors.join('; ')}` : '';
  return ['desired', `${desired} (since ${change.at}, by ${change.actor}: ${change.reason})${errors}`];
}

async function render(client: Client, status: LifecycleStatus): Promise<string> {
  const lines: string[] = [];
  const current = status.current;
  let stage = current ? `cycle ${current.cycle}: ${current.stage}${current.detail ? ` (${current.detail})` : ''}` : '-';
  if (current?.stage === 'train' && current.detail) {
    const progress = await trainingProgress(client, current.detail);
    if (progress) stage = `cycle ${current.cycle}: train — ${progress}`;
  }
  lines.push(
    table([
      ['model', status.model],
      ['state', status.state + (status.cooldownUntil ? ` until ${status.cooldownUntil}` : '')],
      desiredRow(status),
      ['current', stage],
      [
        'approval',
        status.pendingApproval
          ? `v${status.pendingApproval.version} waits (${fmtMetrics(status.pendingApproval.metrics)}); default ${status.pendingApproval.default} at ${status.pendingApproval.deadline}`
          : '-',
      ],
      ['pending', status.pendingTriggers.length ? status.pendingTriggers.map((t) => `${t.kind}: ${t.detail}`).join('; ') : '-'],
      ['partitions', status.partitions.join(', ') || '-'],
      ['cycles', String(status.cycles)],
      ...(status.refused?.length ? [refusedRow(status.refused)] : []),
    ]),
  );
  if (status.history.length) {
    lines.push('');
    lines.push(
      grid(
        ['CYCLE', 'STAGE', 'VERSION', 'METRICS', 'TRIGGERS', 'ENDED'],
        status.history.map((h) => [
          String(h.cycle),
          h.stage,
          h.version ? `v${h.version}` : '-',
          h.error ? h.error.slice(0, 60) : h.note ? h.note.slice(0, 60) : fmtMetrics(h.metrics),
          h.triggers.map((t) => t.kind).join(','),
          h.endedAt ?? '-',
        ]),
      ),
    );
  }
  return lines.join('\n');
}

/**
 * Shows the status whenever it changes until Ctrl-C or until the lifecycle ends; an end other
 * than completing (failed, cancelled, terminated, timed out) throws WorkflowEndedError (exit 1).
 */
async function followLifecycle(client: Client, model: string, json: boolean): Promise<void> {
  const handle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  try {
    let previous = '';
    while (!stop.signal.aborted) {
      const { status } = await handle.describe().catch((err: unknown) => {
        throw noLifecycle(model, err);
      });
      if (isClosed(status.name)) {
        await workflowResult(handle);
        if (!json) say(`${handle.workflowId} ended ${status.name}`);
        return;
      }
      let current: LifecycleStatus;
      try {
        current = await readStatus(client, model);
      } catch (err) {
        if (isClosed((await handle.describe()).status.name)) continue; // it ended between the two calls
        throw err;
      }
      const text = json ? JSON.stringify(current) : await render(client, current);
      if (text !== previous) {
        if (json) printJsonLine(current);
        else say(`\n${new Date().toISOString()}\n${text}`);
        previous = text;
      }
      await sleep(1000, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function decisionCommand(pipeline: Command, name: 'approve' | 'reject'): void {
  pipeline
    .command(`${name} <model>`)
    .description(`${name} the challenger waiting for approval (an Update: refused when none waits)`)
    .requiredOption('--reason <text>', 'why (recorded in the registry)')
    .option('--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)')
    .action((model: string, opts: { reason: string; actor?: string }) =>
      withClient(async (client, config) => {
        const actor = opts.actor ?? config.actor ?? userInfo().username;
        try {
          const out = await client.workflow
            .getHandle(WORKFLOW_IDS.modelLifecycle(model))
            .executeUpdate(name === 'approve' ? approveUpdate : rejectUpdate, { args: [{ actor, reason: opts.reason }] });
          say(
            `cycle ${out.cycle}: v${out.version} ${out.decision} by ${out.actor}${out.timedOut ? ' (the approval had already timed out)' : ''}`,
          );
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Error(err.cause?.message ?? err.message);
          throw err;
        }
      }),
    );
}

const STATE_COMMANDS: Array<{ name: string; state: LifecycleDesiredState; description: string }> = [
  {
    name: 'pause',
    state: 'paused',
    description:
      'pause the lifecycle: the champion keeps serving, no new cycle starts (triggers wait), the Schedule is paused and the drift monitor stops; a running cycle finishes',
  },
  {
    name: 'resume',
    state: 'active',
    description: 'resume a paused lifecycle: the Schedule and the monitor resume, waiting triggers start a cycle',
  },
  {
    name: 'retire',
    state: 'retired',
    description:
      'retire the model: the Schedule is deleted, the monitor stops, and the lifecycle ends once no cycle runs (registry versions and aliases stay)',
  },
];

/** `pipeline pause|resume|retire`: the `setState` Update (validated there: refused on a retired lifecycle). */
function stateCommand(pipeline: Command, command: (typeof STATE_COMMANDS)[number]): void {
  pipeline
    .command(`${command.name} <model>`)
    .description(command.description)
    .requiredOption('--reason <text>', 'why (shown in `pipeline status`)')
    .option('--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)')
    .action((model: string, opts: { reason: string; actor?: string }) =>
      withClient(async (client, config) => {
        const actor = opts.actor ?? config.actor ?? userInfo().username;
        const workflowId = WORKFLOW_IDS.modelLifecycle(model);
        let out;
        try {
          out = await client.workflow
            .getHandle(workflowId)
            .executeUpdate(setStateUpdate, { args: [{ state: command.state, actor, reason: opts.reason }] });
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Error(`${command.name} refused: ${err.cause?.message ?? err.message}`);
          throw noLifecycle(model, err);
        }
        if (!out.changed) say(`${workflowId} is already ${out.state}; nothing changed.`);
        else say(`${workflowId}: ${out.previous} → ${out.state}.`);
        if (out.schedule) say(`Schedule ${WORKFLOW_IDS.retrainSchedule(model)}: ${out.schedule}.`);
        if (out.monitor) say(`Drift monitor ${WORKFLOW_IDS.driftMonitor(model)}: ${out.monitor}.`);
        if (out.state === 'retired')
          say(`The lifecycle ends once no cycle runs; the model's versions and aliases stay in the registry; serving is not touched.`);
        if (out.errors?.length) throw new Error(`the state is set, but: ${out.errors.join('; ')} (run it again to retry)`);
      }),
    );
}

/** The spec the running lifecycle uses (its `spec` Query). */
async function runningSpec(client: Client, model: string): Promise<ModelSpec> {
  try {
    return await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).query(specQuery);
  } catch (err) {
    throw noLifecycle(model, err);
  }
}

/** `pipeline apply`: the spec goes to the running lifecycle as an `updateSpec` Update (validated
 * there: refused mid-rollout unless forced), or starts the lifecycle when none runs. */
async function applySpec(client: Client, config: CliConfig, specPath: string, force: boolean): Promise<void> {
  const spec = await loadModelSpec(specPath);
  await ensureSearchAttributes(client.connection, config.temporal.namespace);
  const store = await createArtifactStore(config.artifactStore);
  const handle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(spec.name));
  const running = await handle
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    });
  if (!running && (await startLifecycle(client, spec))) {
    const specUri = await saveModelSpec(store, spec);
    say(`Started ${handle.workflowId} (spec saved to ${specUri}).`);
    return;
  }
  let result;
  try {
    result = await handle.executeUpdate(updateSpecUpdate, { args: [{ spec, ...(force ? { force } : {}) }] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new Error(`spec refused: ${err.cause?.message ?? err.message}`);
    throw err;
  }
  // The store's copy is what data-arrival events start the lifecycle with, should it be re-created.
  await saveModelSpec(store, spec);
  if (result.changes.length === 0) return say(`${handle.workflowId} already runs this spec; nothing changed.`);
  say(`Applied to ${handle.workflowId}; the next cycle uses it:\n${formatSpecChanges(result.changes)}`);
  if (result.schedule) say(`Schedule ${WORKFLOW_IDS.retrainSchedule(spec.name)}: ${result.schedule}.`);
  if (result.monitor) say(`Drift monitor ${WORKFLOW_IDS.driftMonitor(spec.name)}: ${result.monitor}.`);
  if (result.errors?.length) throw new Error(`the spec is applied, but: ${result.errors.join('; ')} (apply it again to retry)`);
}

export function registerPipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description("a model's lifecycle: start it from its spec, watch it, approve, retrain");

  pipeline
    .command('start <spec>')
    .description('start the lifecycle workflow model/<name> from a model spec (YAML or JSON)')
    .option('--follow', 'then show its status as it changes, like `pipeline status --follow`')
    .option('--json', 'with --follow: one status JSON object per line')
    .action((specPath: string, opts: { follow?: boolean; json?: boolean }) =>
      withClient(async (client, config) => {
        const spec = await loadModelSpec(specPath);
        await ensureSearchAttributes(client.connection, config.temporal.namespace);
        const specUri = await saveModelSpec(await createArtifactStore(config.artifactStore), spec);
        const workflowId = WORKFLOW_IDS.modelLifecycle(spec.name);
        if (await startLifecycle(client, spec)) say(`Started ${workflowId} (spec saved to ${specUri}).`);
        else
          say(
            `${workflowId} is already running; its spec in the store is updated for new events (the running workflow keeps its spec: \`flywheel pipeline apply\` changes it).`,
          );
        say(`Next: \`flywheel data arrive <YYYY-MM>\` starts a cycle; \`flywheel pipeline status ${spec.name} --follow\` watches it.`);
        if (spec.retrain.schedule) say(`Retrains on "${spec.retrain.schedule}" (Schedule ${WORKFLOW_IDS.retrainSchedule(spec.name)}).`);
        if (opts.follow) await followLifecycle(client, spec.name, opts.json === true);
      }),
    );

  pipeline
    .command('status <model>')
    .description('where the lifecycle is: current cycle and stage, pending approval, history')
    .option('--follow', 'show it whenever it changes (stage, training epoch, metrics) until Ctrl-C or the workflow ends')
    .option('--json', 'print the status Query result as JSON (with --follow: one object per line)')
    .action((model: string, opts: { follow?: boolean; json?: boolean }) =>
      withClient(async (client) => {
        if (opts.follow) return followLifecycle(client, model, opts.json === true);
        const status = await readStatus(client, model);
        if (opts.json) printJson(status);
        else say(await render(client, status));
      }),
    );

  pipeline
    .command('diff <spec>')
    .description("what would change in the running lifecycle's spec (exit 1 when something would, 0 when nothing)")
    .option('--json', 'print the changes as JSON')
    .action((specPath: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const spec = await loadModelSpec(specPath);
        const changes = diffSpecs(await runningSpec(client, spec.name), spec);
        if (opts.json) printJson(changes);
        else say(changes.length ? formatSpecChanges(changes) : `no changes: ${WORKFLOW_IDS.modelLifecycle(spec.name)} runs this spec`);
        if (changes.length) process.exitCode = 1;
      }),
    );

  pipeline
    .command('apply <spec>')
    .description(
      "change the running lifecycle's spec (an Update: validated, answers the diff; the next cycle, the Schedule and the monitor use it); starts the lifecycle when none runs",
    )
    .option('--force', 'apply even while a rollout is in progress (the rollout keeps the spec it started with)')
    .action((specPath: string, opts: { force?: boolean }) =>
      withClient((client, config) => applySpec(client, config, specPath, opts.force === true)),
    );

  decisionCommand(pipeline, 'approve');
  decisionCommand(pipeline, 'reject');
  for (const command of STATE_COMMANDS) stateCommand(pipeline, command);

  pipeline
    .command('retrain <model>')
    .description('ask for a training cycle now (runs after the current one; ignores the cooldown)')
    .requiredOption('--reason <text>', 'why')
    .option('--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)')
    .action((model: string, opts: { reason: string; actor?: string }) =>
      withClient(async (client, config) => {
        await readStatus(client, model); // a clear error when it does not exist
        await client.workflow
          .getHandle(WORKFLOW_IDS.modelLifecycle(model))
          .signal(retrainSignal, { reason: opts.reason, requestedBy: opts.actor ?? config.actor ?? userInfo().username });
        say(`Retrain requested for ${model}.`);
      }),
    );
}
