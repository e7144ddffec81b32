// A batch job's chunks as a function of its plan (rows, chunk size), so neither the plan nor the
// workflow's carried state lists them: both stay the same size for 2 chunks or 200,000. Pure,
// safe in workflow code.
import type { BatchPlan } from '../contracts/batch-predict.ts';

export interface ChunkRange {
  index: number;
  /** First file row number (inclusive). */
  start: number;
  /** Last file row number (exclusive). */
  end: number;
}

export function planChunks(rows: number, chunkRows: number): ChunkRange[] {
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`chunkRows must be a positive integer, got ${chunkRows}`);
  const chunks: ChunkRange[] = [];
  for (let index = 0; index < chunkCount(rows, chunkRows); index++) chunks.push(chunkAt(rows, chunkRows, index));
  return chunks;
}

export function chunkCount(rows: number, chunkRows: number): number {
  return Math.ceil(rows / chunkRows);
}

export function chunkAt(rows: number, chunkRows: number, index: number): ChunkRange {
  const start = index * chunkRows;
  return { index, start, end: Math.min(rows, start + chunkRows) };
}

/** The chunks of a plan: computed from `chunkRows`, or listed by plans made before it. */
export function planChunkCount(plan: BatchPlan): number {
  return plan.chunkRows !== undefined ? chunkCount(plan.rows, plan.chunkRows) : (plan.chunks?.length ?? 0);
}

export function planChunkAt(plan: BatchPlan, index: number): ChunkRange {
  if (plan.chunkRows !== undefined) return chunkAt(plan.rows, plan.chunkRows, index);
  const chunk = plan.chunks?.[index];
  if (!chunk) throw new RangeError(`the plan has no chunk ${index}`);
  return chunk;
}

/** A plan as the workflow carries it: without the chunk list when the chunk size gives it. */
export function compactPlan(plan: BatchPlan): BatchPlan {
  if (plan.chunkRows === undefined) return plan;
  const { chunks: _chunks, ...rest } = plan;
  return rest;
}

/** Where a chunk's result record lives: one folder per job (its first run id), so a rerun into
 * the same output prefix never mixes in another job's chunks. */
export function chunkRecordPrefix(outputPrefix: string, jobRunId: string): string {
  return `${outputPrefix}/_chunks/${jobRunId}`;
}

export function chunkRecordKey(recordPrefix: string, index: number): string {
  return `${recordPrefix}/part-${String(index).padStart(5, '0')}.json`;
}
