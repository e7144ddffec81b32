// Labelled recent traffic as a training source (`data.traffic` in the model spec): exports the
// model's prediction log joined with its feedback labels over a window as one partition in the
// store, for prepare-data to read beside the dataset's other partitions (lib/data/traffic-source.ts).
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Database } from '../../lib/db/index.ts';
import { sqlString, withDuck } from '../../lib/data/duck.ts';
import { materializeSource, type SourceContext } from '../../lib/data/sources.ts';
import type { LabelSpec } from '../../lib/data/source-spec.ts';
import { exportTrafficPartition, TRAFFIC_MAX_ROWS_DEFAULT, type TrafficPartition } from '../../lib/data/traffic-source.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import type { TaskKind } from '../../lib/tasks/task.ts';
import { inputColumns } from '../../lib/features/tabular/instances.ts';
import type { FeatureSpec } from '../../lib/features/tabular/spec.ts';
import { parseDurationMs } from '../../lib/time/duration.ts';

export interface TrafficActivityDeps {
  /** Flywheel's database: the prediction log and the feedback labels. */
  db: Database;
  store: ArtifactStore;
  s3?: S3StoreOptions;
  logger: Logger;
}

export interface ExportLabelledTrafficInput {
  model: string;
  /** The spec's `data.dataset`. */
  dataset: string;
  /** The spec's `data.label`. */
  label: LabelSpec;
  /** The spec's `task`. @default 'binary' */
  task?: TaskKind;
  /** The spec's `data.time`; filled with the prediction's time when an instance lacks it. */
  time?: string;
  /** The spec's `features`: the partition holds their input columns. */
  features?: FeatureSpec;
  /** The input columns, when no `features` are given; @default every key the logged instances carry */
  columns?: string[];
  /** Window end (ISO, exclusive). Pass the workflow's time: the partition's key derives from it,
   * so a retried export overwrites its own file. @default now */
  until?: string;
  /** Window start (ISO, inclusive). @default `until` − `window` */
  since?: string;
  /** The spec's `data.traffic.window` (`7d`, or milliseconds). @default '7d' */
  window?: string | number;
  /** @default 100000 */
  maxRows?: number;
  /** A partition of the dataset (file:// or s3://) whose columns, order and types the export
   * copies, so prepare-data reads both as one table. Unset: the inputs, the time and the label,
   * typed from the logged values. */
  schemaFrom?: string;
}

/** `partition` names it (`traffic-<until>-<hash>`); `uris` is empty when no labelled row fell in
 * the window (nothing to train on: the caller leaves it out). */
export type ExportLabelledTrafficResult = TrafficPartition;

export function createTrafficActivities(deps: TrafficActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };

  function invalid(summary: string): never {
    throw permanentFailure(FAILURE_TYPES.InvalidConfig, { summary });
  }

  function instant(name: string, value: string): Date {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) invalid(`${name}: not a timestamp: ${JSON.stringify(value)}`);
    return d;
  }

  return {
    async exportLabelledTraffic(input: ExportLabelledTrafficInput): Promise<ExportLabelledTrafficResult> {
      const until = input.until ? instant('until', input.until) : new Date();
      let windowMs = 0;
      try {
        windowMs = parseDurationMs(input.window ?? '7d', { bareUnit: 'ms' });
      } catch (err) {
        invalid(`window: ${(err as Error).message}`);
      }
      const since = input.since ? instant('since', input.since) : new Date(until.getTime() - windowMs);
      const maxRows = input.maxRows ?? TRAFFIC_MAX_ROWS_DEFAULT;
      if (!Number.isInteger(maxRows) || maxRows < 1) invalid(`maxRows must be a positive integer, got ${maxRows}`);
      if (since >= until) invalid(`the window is empty: since ${since.toISOString()} is not before until ${until.toISOString()}`);
      return withDuck(async (duck) => {
        let schema: Array<{ name: string; type: string }> | undefined;
        if (input.schemaFrom) {
          const dir = join(tmpdir(), `flywheel-traffic-${process.pid}`);
          await mkdir(dir, { recursive: true });
          const file = await materializeSource(ctx, input.schemaFrom, dir, Context.current().cancellationSignal);
          const reader = file.format === 'csv' ? 'read_csv' : 'read_parquet';
          const described = await duck.all<{ column_name: string; column_type: string }>(
            `DESCRIBE SELECT * FROM ${reader}(${sqlString(file.path)})`,
          );
          schema = described.map((c) => ({ name: c.column_name, type: c.column_type }));
        }
        const out = await exportTrafficPartition(
          duck,
          { db: deps.db, store: deps.store },
          {
            model: input.model,
            dataset: input.dataset,
            label: input.label,
            ...(input.task ? { task: input.task } : {}),
            ...(input.time ? { time: input.time } : {}),
            ...(input.features
              ? { columns: inputColumns(input.features).map((c) => c.column) }
              : input.columns
                ? { columns: input.columns }
                : {}),
            ...(schema ? { schema } : {}),
            since,
            until,
            maxRows,
          },
        );
        deps.logger.info({ model: input.model, partition: out.partition, rows: out.rows }, 'labelled traffic exported');
        return out;
      });
    },
  };
}

export type TrafficActivities = ReturnType<typeof createTrafficActivities>;
