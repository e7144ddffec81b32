// `flywheel batch start | status | cancel`: run batchPredict through Temporal, with a progress
// bar (rows done / total, rows/s, ETA) fed by the workflow's `progress` query.
import type { Command } from 'commander';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../../lib/config/index.ts';
import { connectClient } from '../../lib/temporal/connection.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import type { BatchManifest, BatchPredictInput, BatchProgress } from '../../lib/workflow-types.ts';
import { say, table } from '../output.ts';

function bar(p: BatchProgress, rowsPerSec: number): string {
  const width = 30;
  const frac = p.rowsTotal ? p.rowsDone / p.rowsTotal : 0;
  const filled = Math.round(frac * width);
  const eta = rowsPerSec > 0 ? `${Math.ceil((p.rowsTotal - p.rowsDone) / rowsPerSec)}s` : '?';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${p.rowsDone.toLocaleString('en-US')}/${p.rowsTotal.toLocaleString('en-US')} rows, ${Math.round(rowsPerSec).toLocaleString('en-US')} rows/s, ETA ${eta}, chunks ${p.chunksDone}/${p.chunksTotal} (${p.inFlight} running)`;
}

async function follow(workflowId: string): Promise<void> {
  const client = await connectClient(loadConfig('cli').temporal);
  try {
    const handle = client.workflow.getHandle(workflowId);
    let last: { t: number; rows: number } | undefined;
    let rate = 0;
    const tty = process.stdout.isTTY;
    for (;;) {
      const desc = await handle.describe();
      const p = await handle.query<BatchProgress>('progress').catch(() => undefined);
      if (p) {
        const now = Date.now();
        if (last && now > last.t) rate = (p.rowsDone - last.rows) / ((now - last.t) / 1000) || rate;
        last = { t: now, rows: p.rowsDone };
        const line = bar(p, rate);
        if (tty) process.stdout.write(`\r${line}`);
        else say(line);
      }
      if (desc.status.name !== 'RUNNING' && desc.status.name !== 'CONTINUED_AS_NEW') {
        if (tty) say('');
        say(`${workflowId}: ${desc.status.name}`);
        if (desc.status.name === 'COMPLETED') {
          const m = (await handle.result()) as BatchManifest;
          say(table([['Rows written', m.rowsWritten.toLocaleString('en-US')], ['Model', `${m.model.name} v${m.model.version}`], ['Manifest', m.manifestUri ?? '-']]));
        }
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await client.connection.close();
  }
}

export function registerBatchCommands(program: Command): void {
  const batch = program.command('batch').description('durable batch inference through Temporal');

  batch
    .command('start')
    .argument('<dataset-uri>', 'Parquet dataset: file:// or s3:// URI')
    .requiredOption('--model <name>', 'registered model name')
    .option('--alias <alias>', 'model alias to resolve (ignored with --version)', 'champion')
    .option('--version <n>', 'exact model version')
    .requiredOption('--output <prefix>', 'artifact-store prefix for outputs, e.g. batch/flights/2001-h1')
    .option('--chunk-rows <n>', 'rows per chunk', '250000')
    .option('--parallel <n>', 'chunks in flight at once', '4')
    .option('--id <label>', 'job label in the workflow id (default: the output prefix)')
    .option('--detach', 'start and return without following progress')
    .description('start scoring a dataset; follows progress until it ends (Ctrl-C stops following, not the job)')
    .action(async (datasetUri: string, opts: { model: string; alias: string; version?: string; output: string; chunkRows: string; parallel: string; id?: string; detach?: boolean }) => {
      const input: BatchPredictInput = {
        datasetUri,
        model: opts.version ? { name: opts.model, version: Number(opts.version) } : { name: opts.model, alias: opts.alias },
        outputPrefix: opts.output,
        chunkRows: Number(opts.chunkRows),
        maxParallel: Number(opts.parallel),
      };
      if (!Number.isInteger(input.chunkRows) || input.chunkRows! < 1) throw new Error(`--chunk-rows must be a positive integer, got ${opts.chunkRows}`);
      if (!Number.isInteger(input.maxParallel) || input.maxParallel! < 1) throw new Error(`--parallel must be a positive integer, got ${opts.parallel}`);
      const workflowId = WORKFLOW_IDS.batchPredict(opts.model, (opts.id ?? opts.output).replaceAll('/', '-'));
      const client = await connectClient(loadConfig('cli').temporal);
      try {
        await client.workflow.start('batchPredict', { taskQueue: TASK_QUEUES.cpu, workflowId, args: [input] });
      } finally {
        await client.connection.close();
      }
      say(`Started ${workflowId}`);
      if (!opts.detach) await follow(workflowId);
    });

  batch
    .command('status')
    .argument('<workflow-id>')
    .option('--follow', 'keep showing progress until the job ends')
    .description('progress of a batch job')
    .action(async (workflowId: string, opts: { follow?: boolean }) => {
      if (opts.follow) return follow(workflowId);
      const client = await connectClient(loadConfig('cli').temporal);
      try {
        const handle = client.workflow.getHandle(workflowId);
        const desc = await handle.describe();
        const p = await handle.query<BatchProgress>('progress').catch(() => undefined);
        say(`${workflowId}: ${desc.status.name}`);
        if (p) say(bar(p, 0));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new Error(`no batch job ${workflowId}`);
        throw err;
      } finally {
        await client.connection.close();
      }
    });

  batch
    .command('cancel')
    .argument('<workflow-id>')
    .description('stop a batch job: no new chunks; the manifest lists what finished')
    .action(async (workflowId: string) => {
      const client = await connectClient(loadConfig('cli').temporal);
      try {
        await client.workflow.getHandle(workflowId).cancel();
        say(`Cancellation requested for ${workflowId}`);
      } finally {
        await client.connection.close();
      }
    });
}
