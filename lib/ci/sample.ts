// The sample `flywheel ci` trains on: a seeded random subset of a model spec's source rows
// (files, a glob, or a PostgreSQL query, read as `data arrive` reads them), written as one Parquet
// partition into the artifact store, so ingest reads it like any arrived partition. A random
// sample keeps the whole time range, so time-ordered splits still hold a train, validation and
// test share.
import { readFile, rm } from 'node:fs/promises';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqlString, withDuck } from '../data/duck.ts';
import { resolveSource } from '../data/resolve.ts';
import type { TableSource } from '../data/source-spec.ts';
import type { SourceContext } from '../data/sources.ts';

export interface SampleOptions {
  dataset: string;
  source: Pick<TableSource, 'uri' | 'format' | 'csv' | 'postgres'>;
  rows: number;
  /** @default 42 */
  seed?: number;
  /** Where a PostgreSQL source's connection-string variable is read. @default process.env */
  env?: Record<string, string | undefined>;
}

export interface WrittenSample {
  uri: string;
  /** Rows in the sample: `rows`, or all of a smaller source. */
  rows: number;
  /** Rows the source holds. */
  sourceRows: number;
}

/** Samples the source into `ci/<dataset>/sample.parquet` in the context's store. */
export async function writeSourceSample(ctx: SourceContext, options: SampleOptions): Promise<WrittenSample> {
  const tmp = await mkdtemp(join(tmpdir(), 'flywheel-ci-sample-'));
  try {
    return await withDuck(async (duck) => {
      const resolved = await resolveSource(duck, ctx, options.source, { tmpDir: tmp, ...(options.env ? { env: options.env } : {}) });
      const [{ n } = { n: 0 }] = await duck.all<{ n: bigint | number }>(`SELECT count(*) AS n FROM ${resolved.sql}`);
      const sourceRows = Number(n);
      const rows = Math.min(sourceRows, Math.floor(options.rows));
      const file = join(tmp, 'sample.parquet');
      // Reservoir sampling with a seed: the same source gives the same sample on every run.
      const sampled =
        rows < sourceRows
          ? `SELECT * FROM (SELECT * FROM ${resolved.sql}) USING SAMPLE ${rows} ROWS (reservoir, ${options.seed ?? 42})`
          : `SELECT * FROM ${resolved.sql}`;
      await duck.run(`COPY (${sampled}) TO ${sqlString(file)} (FORMAT parquet)`);
      const info = await ctx.store.put(`ci/${options.dataset}/sample.parquet`, await readFile(file), {
        contentType: 'application/vnd.apache.parquet',
      });
      return { uri: info.uri, rows, sourceRows };
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
