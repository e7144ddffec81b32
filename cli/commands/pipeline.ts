// `flywheel pipeline …`: start a model's lifecycle from its spec, watch it, approve or reject a
// challenger, ask for a retrain. Everything goes through the `modelLifecycle` workflow
// (`model/<name>`), so the Web UI, the `temporal` CLI and this command always agree.
import { userInfo } from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Command } from 'commander';
import { saveModelSpec } from '../../lib/lifecycle/specs.ts';
import { loadModelSpec } from '../../lib/spec/model-spec.ts';
import { createArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import type { LifecycleStatus, TrainHeartbeat } from '../../lib/workflow-types.ts';
import { approveUpdate, rejectUpdate, retrainSignal, statusQuery } from '../../workflows/lifecycle-messages.ts';
import { grid, say, table } from '../output.ts';
import { withClient } from '../temporal-client.ts';

async function readStatus(client: Client, model: string): Promise<LifecycleStatus> {
  try {
    return await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no lifecycle for ${model}: start it with \`flywheel pipeline start <spec.yaml>\``);
    throw err;
  }
}

/** The training epoch and metrics, from the train workflow's pending activity heartbeat. */
async function trainingProgress(client: Client, trainWorkflowId: string): Promise<string | undefined> {
  try {
    const desc = await client.workflow.getHandle(trainWorkflowId).describe();
    const payload = desc.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0];
    if (!payload) return undefined;
    const beat = defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload);
    const metrics = Object.entries(beat.metrics ?? {}).map(([k, v]) => `${k}=${Number(v).toFixed(4)}`).join(' ');
    return `epoch ${beat.epoch}, step ${beat.step}${metrics ? `, ${metrics}` : ''}`;
  } catch {
    return undefined;
  }
}

function fmtMetrics(metrics?: Record<string, number>): string {
  if (!metrics) return '-';
  const auc = metrics.roc_auc ?? metrics.rocAuc;
  return auc === undefined ? '-' : `auc ${auc.toFixed(4)}`;
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
      ['current', stage],
      ['approval', status.pendingApproval ? `v${status.pendingApproval.version} waits (${fmtMetrics(status.pendingApproval.metrics)}); default ${status.pendingApproval.default} at ${status.pendingApproval.deadline}` : '-'],
      ['pending', status.pendingTriggers.length ? status.pendingTriggers.map((t) => `${t.kind}: ${t.detail}`).join('; ') : '-'],
      ['partitions', status.partitions.join(', ') || '-'],
      ['cycles', String(status.cycles)],
    ]),
  );
  if (status.history.length) {
    lines.push('');
    lines.push(
      grid(
        ['CYCLE', 'STAGE', 'VERSION', 'METRICS', 'TRIGGERS', 'ENDED'],
        status.history.map((h) => [String(h.cycle), h.stage, h.version ? `v${h.version}` : '-', h.error ? h.error.slice(0, 60) : fmtMetrics(h.metrics), h.triggers.map((t) => t.kind).join(','), h.endedAt ?? '-']),
      ),
    );
  }
  return lines.join('\n');
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
          const out = await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).executeUpdate(name === 'approve' ? approveUpdate : rejectUpdate, { args: [{ actor, reason: opts.reason }] });
          say(`cycle ${out.cycle}: v${out.version} ${out.decision} by ${out.actor}${out.timedOut ? ' (the approval had already timed out)' : ''}`);
        } catch (err) {
          if (err instanceof WorkflowUpdateFailedError) throw new Error(err.cause?.message ?? err.message);
          throw err;
        }
      }),
    );
}

export function registerPipelineCommands(program: Command): void {
  const pipeline = program.command('pipeline').description("a model's lifecycle: start it from its spec, watch it, approve, retrain");

  pipeline
    .command('start <spec>')
    .description('start the lifecycle workflow model/<name> from a model spec (YAML or JSON)')
    .action((specPath: string) =>
      withClient(async (client, config) => {
        const spec = await loadModelSpec(specPath);
        await ensureSearchAttributes(client.connection, config.temporal.namespace);
        const specUri = await saveModelSpec(await createArtifactStore(config.artifactStore), spec);
        const workflowId = WORKFLOW_IDS.modelLifecycle(spec.name);
        try {
          await client.workflow.start('modelLifecycle', {
            workflowId,
            taskQueue: TASK_QUEUES.cpu,
            args: [spec],
            typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
            staticSummary: `lifecycle of ${spec.name}`,
          });
          say(`Started ${workflowId} (spec saved to ${specUri}).`);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
          say(`${workflowId} is already running; its spec in the store is updated for new events (the running workflow keeps the spec it started with).`);
        }
        say(`Next: \`flywheel data arrive <YYYY-MM>\` starts a cycle; \`flywheel pipeline status ${spec.name} --follow\` watches it.`);
        if (spec.retrain.schedule) say(`Retrains on "${spec.retrain.schedule}" (Schedule ${WORKFLOW_IDS.retrainSchedule(spec.name)}).`);
      }),
    );

  pipeline
    .command('status <model>')
    .description('where the lifecycle is: current cycle and stage, pending approval, history')
    .option('--follow', 'refresh every second until Ctrl-C (stage, training epoch, metrics)')
    .option('--json', 'print the status Query result as JSON')
    .action((model: string, opts: { follow?: boolean; json?: boolean }) =>
      withClient(async (client) => {
        if (!opts.follow) {
          const status = await readStatus(client, model);
          say(opts.json ? JSON.stringify(status, null, 2) : await render(client, status));
          return;
        }
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        let previous = '';
        while (!stop) {
          const text = await render(client, await readStatus(client, model));
          if (text !== previous) {
            say(`\n${new Date().toISOString()}\n${text}`);
            previous = text;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
      }),
    );

  decisionCommand(pipeline, 'approve');
  decisionCommand(pipeline, 'reject');

  pipeline
    .command('retrain <model>')
    .description('ask for a training cycle now (runs after the current one; ignores the cooldown)')
    .requiredOption('--reason <text>', 'why')
    .option('--actor <name>', 'who (default: FLYWHEEL_ACTOR or the OS user)')
    .action((model: string, opts: { reason: string; actor?: string }) =>
      withClient(async (client, config) => {
        await readStatus(client, model); // a clear error when it does not exist
        await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).signal(retrainSignal, { reason: opts.reason, requestedBy: opts.actor ?? config.actor ?? userInfo().username });
        say(`Retrain requested for ${model}.`);
      }),
    );
}
