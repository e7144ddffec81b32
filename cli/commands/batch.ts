// `flywheel batch start | features | status | cancel`: run batchPredict (and batchFeatures) through Temporal, with a progress
// bar (rows done / total, rows/s, ETA) fed by the workflow's `progress` query.
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { printJson, printJsonLine, say, table } from '../output.ts';
import { isClosed, withClient, workflowResult } from '../temporal-client.ts';
import {
  batchPredictWorkflow,
  batchProgressQuery,
  type BatchManifest,
  type BatchPredictInput,
  type BatchProgress,
} from '../../lib/contracts/batch-predict.ts';
import { batchFeaturesWorkflow, type BatchFeaturesInput, type BatchFeaturesResult } from '../../lib/contracts/batch-features.ts';

function bar(p: BatchProgress, rowsPerSec: number): string {
  const width = 30;
  const frac = p.rowsTotal ? p.rowsDone / p.rowsTotal : 0;
  const filled = Math.round(frac * width);
  const eta = rowsPerSec > 0 ? `${Math.ceil((p.rowsTotal - p.rowsDone) / rowsPerSec)}s` : '?';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(1)}% ${p.rowsDone.toLocaleString('en-US')}/${p.rowsTotal.toLocaleString('en-US')} rows, ${Math.round(rowsPerSec).toLocaleString('en-US')} rows/s, ETA ${eta}, chunks ${p.chunksDone}/${p.chunksTotal} (${p.inFlight} running)`;
}

/**
 * Shows progress until the job ends: the manifest when it completed, else WorkflowEndedError
 * (exit 1) with how and why it ended. Ctrl-C stops following, not the job.
 */
async function follow(client: Client, workflowId: string, json: boolean): Promise<void> {
  const handle = client.workflow.getHandle(workflowId);
  let last: { t: number; rows: number } | undefined;
  let rate = 0;
  let previous = '';
  const tty = process.stdout.isTTY && !json;
  for (;;) {
    const desc = await handle.describe().catch((err: unknown) => {
      throw noJob(workflowId, err);
    });
    const p = await handle.query(batchProgressQuery).catch(() => undefined);
    if (json) {
      const line = JSON.stringify({ workflowId, status: desc.status.name, progress: p ?? null });
      if (line !== previous) say(line);
      previous = line;
    } else if (p) {
      const now = Date.now();
      if (last && now > last.t) rate = (p.rowsDone - last.rows) / ((now - last.t) / 1000) || rate;
      last = { t: now, rows: p.rowsDone };
      const line = bar(p, rate);
      if (tty) process.stdout.write(`\r${line}`);
      else say(line);
    }
    if (isClosed(desc.status.name)) {
      if (tty) say('');
      if (!json) say(`${workflowId}: ${desc.status.name}`);
      const m = await workflowResult<BatchManifest>(handle);
      if (json) printJsonLine({ workflowId, status: desc.status.name, result: m });
      else
        say(
          table([
            ['Rows written', m.rowsWritten.toLocaleString('en-US')],
            ['Model', `${m.model.name} v${m.model.version}`],
            ['Manifest', m.manifestUri ?? '-'],
          ]),
        );
      return;
    }
    await sleep(1000);
  }
}

function noJob(workflowId: string, err: unknown): unknown {
  return err instanceof WorkflowNotFoundError ? new Error(`no batch job ${workflowId}`) : err;
}

export function registerBatchCommands(program: Command): void {
  const batch = program.command('batch').description('durable batch inference through Temporal');

  batch
    .command('start')
    .argument('<dataset-uri>', "Parquet dataset (file:// or s3:// URI) holding the model's input columns")
    .requiredOption('--model <name>', 'registered model name')
    .option('--alias <alias>', 'model alias to resolve (ignored with --version)', 'champion')
    .option('--version <n>', 'exact model version')
    .requiredOption('--output <prefix>', 'artifact-store prefix for outputs, e.g. batch/weather/2015')
    .option('--chunk-rows <n>', 'rows per chunk', '250000')
    .option('--parallel <n>', 'chunks in flight at once', '4')
    .option('--id <label>', 'job label in the workflow id (default: the output prefix)')
    .option('--table', 'also load the predictions into the batch_predictions table and publish them when complete')
    .option(
      '--key-column <column>',
      "publish each row's prediction under this entity key column, for the server's batch layer (GET /v1/models/<model>/batch/<key>; docs/batch-layer.md)",
    )
    .option('--detach', 'start and return without following progress')
    .option('--json', 'progress as one JSON object per line, the manifest last (with --detach: the workflow id)')
    .description(
      'start scoring a dataset; follows progress until it ends (Ctrl-C stops following, not the job); exit 1 unless it completed',
    )
    .action(
      async (
        datasetUri: string,
        opts: {
          model: string;
          alias: string;
          version?: string;
          output: string;
          chunkRows: string;
          parallel: string;
          id?: string;
          table?: boolean;
          keyColumn?: string;
          detach?: boolean;
          json?: boolean;
        },
      ) => {
        const input: BatchPredictInput = {
          ...(opts.table ? { writeTable: true } : {}),
          ...(opts.keyColumn ? { keyColumn: opts.keyColumn } : {}),
          datasetUri,
          model: opts.version ? { name: opts.model, version: Number(opts.version) } : { name: opts.model, alias: opts.alias },
          outputPrefix: opts.output,
          chunkRows: Number(opts.chunkRows),
          maxParallel: Number(opts.parallel),
        };
        if (!Number.isInteger(input.chunkRows) || input.chunkRows! < 1)
          throw new Error(`--chunk-rows must be a positive integer, got ${opts.chunkRows}`);
        if (!Number.isInteger(input.maxParallel) || input.maxParallel! < 1)
          throw new Error(`--parallel must be a positive integer, got ${opts.parallel}`);
        const workflowId = WORKFLOW_IDS.batchPredict(opts.model, (opts.id ?? opts.output).replaceAll('/', '-'));
        await withClient(async (client) => {
          await client.workflow.start(batchPredictWorkflow, {
            taskQueue: TASK_QUEUES.cpu,
            workflowId,
            args: [input],
            // Listed with the model's other workflows from the start (`FlywheelModel = "<model>"`).
            typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: opts.model }],
          });
          if (opts.json) printJsonLine({ workflowId, status: 'STARTED' });
          else say(`Started ${workflowId}`);
          if (!opts.detach) await follow(client, workflowId, opts.json === true);
        });
      },
    );

  batch
    .command('features')
    .argument('<source-uri>', 'Parquet or CSV source (file:// or s3:// URI), one row per entity')
    .requiredOption(
      '--table <name>',
      'feature table name (a model joins the table of its own name unless FLYWHEEL_SERVE_BATCH_FEATURE_TABLES maps it)',
    )
    .requiredOption('--key-column <column>', 'the entity key column: unique and non-null')
    .option('--columns <list>', 'comma-separated columns to keep (default: every column but the key)')
    .option('--chunk-rows <n>', 'rows per chunk', '100000')
    .option('--id <label>', 'job label in the workflow id (default: the time now)')
    .option('--detach', 'start and return without waiting for the table to publish')
    .option('--json', 'print the result (with --detach: the workflow id) as JSON')
    .description(
      'load per-entity features into a published batch feature table, which the server joins by entity key (docs/batch-layer.md)',
    )
    .action(
      async (
        sourceUri: string,
        opts: { table: string; keyColumn: string; columns?: string; chunkRows: string; id?: string; detach?: boolean; json?: boolean },
      ) => {
        const chunkRows = Number(opts.chunkRows);
        if (!Number.isInteger(chunkRows) || chunkRows < 1)
          throw new Error(`--chunk-rows must be a positive integer, got ${opts.chunkRows}`);
        const input: BatchFeaturesInput = {
          sourceUri,
          table: opts.table,
          keyColumn: opts.keyColumn,
          chunkRows,
          ...(opts.columns
            ? {
                columns: opts.columns
                  .split(',')
                  .map((c) => c.trim())
                  .filter(Boolean),
              }
            : {}),
        };
        const workflowId = WORKFLOW_IDS.batchFeatures(opts.table, opts.id ?? new Date().toISOString().replace(/[:.]/g, '-'));
        await withClient(async (client) => {
          const handle = await client.workflow.start(batchFeaturesWorkflow, { taskQueue: TASK_QUEUES.cpu, workflowId, args: [input] });
          if (opts.detach) {
            if (opts.json) printJsonLine({ workflowId, status: 'STARTED' });
            else say(`Started ${workflowId}`);
            return;
          }
          if (!opts.json) say(`Started ${workflowId}; waiting for the table to publish`);
          const result = await workflowResult<BatchFeaturesResult>(handle);
          if (opts.json) printJsonLine({ workflowId, result });
          else
            say(
              table([
                ['Table', result.table],
                ['Rows', result.rows.toLocaleString('en-US')],
                ['Columns', result.columns.join(', ')],
                ['Published', result.publishedAt],
              ]),
            );
        });
      },
    );

  batch
    .command('status')
    .argument('<workflow-id>')
    .option('--follow', 'keep showing progress until the job ends; exit 1 unless it completed')
    .option('--json', 'print {workflowId, status, progress} as JSON (with --follow: one object per line)')
    .description('progress of a batch job')
    .action((workflowId: string, opts: { follow?: boolean; json?: boolean }) =>
      withClient(async (client) => {
        if (opts.follow) return follow(client, workflowId, opts.json === true);
        const handle = client.workflow.getHandle(workflowId);
        const desc = await handle.describe().catch((err: unknown) => {
          throw noJob(workflowId, err);
        });
        const p = await handle.query(batchProgressQuery).catch(() => undefined);
        if (opts.json) return printJson({ workflowId, status: desc.status.name, progress: p ?? null });
        say(`${workflowId}: ${desc.status.name}`);
        if (p) say(bar(p, 0));
      }),
    );

  batch
    .command('cancel')
    .argument('<workflow-id>')
    .description('stop a batch job: no new chunks; the manifest lists what finished')
    .action((workflowId: string) =>
      withClient(async (client) => {
        await client.workflow.getHandle(workflowId).cancel();
        say(`Cancellation requested for ${workflowId}`);
      }),
    );
}
