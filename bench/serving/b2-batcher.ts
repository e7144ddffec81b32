// B2 (bench:serving): the batcher in-process, on the flights architecture (231→64→32→1), one ORT
// thread, vs fixed batches of 1 and of 32 straight on the inference pool. It runs before any
// server starts, unpinned: the batcher's event loop and the ORT thread may each have a core, so
// what it measures is whether the batcher keeps the ORT thread fed.
import type { ServeSettings } from '../../lib/config/index.ts';
import { exportMlpToOnnx } from '../../lib/onnx/index.ts';
import { DynamicBatcher } from '../../serving/batcher.ts';
import { InferencePool } from '../../serving/inference/pool.ts';
import { flightsShapedDim, flightsShapedRows, randomMlp, seededRandom } from '../../tests/fixtures/synthetic.ts';
import { B2_CALLERS, b2Ms, b2Warmups, rounds } from './method.ts';
import { fmt, medianRatio, rotate } from './util.ts';

export interface BatcherRound {
  /** 256 callers, each refilling its own input buffer (a new one only after the pool took it). */
  batcherRowsPerS: number;
  /** The same with a new buffer per submit, as a server request's encoded features are. */
  batcherFreshRowsPerS: number;
  batch1RowsPerS: number;
  batch32RowsPerS: number;
}

export async function batcherRounds(settings: ServeSettings): Promise<BatcherRound[]> {
  const dim = flightsShapedDim(99, 98);
  const onnx = exportMlpToOnnx(randomMlp([dim, 64, 32, 1], seededRandom(1)), { featureSpecHash: 'bench', datasetVersion: 'bench' });
  const pool = InferencePool.create({ threads: 1 });
  const rows = flightsShapedRows(1024, seededRandom(2));
  const source = (k: number, n: number) => rows.subarray(((k * n) % (1024 - n)) * dim, (((k * n) % (1024 - n)) + n) * dim);
  /** `callers` loops for b2Ms, each calling with `perCall` rows; `reuse`: keep the caller's buffer
   * unless it was transferred (detached: length 0), else a new buffer per call. */
  const rowsPerS = async (
    callers: number,
    perCall: number,
    reuse: boolean,
    call: (x: Float32Array, n: number) => Promise<Float32Array>,
  ) => {
    let done = 0;
    const t0 = performance.now();
    const end = t0 + b2Ms;
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        let x = new Float32Array(perCall * dim);
        for (let k = c; performance.now() < end; k += callers) {
          if (!reuse || x.length === 0) x = new Float32Array(perCall * dim);
          x.set(source(k, perCall));
          await call(x, perCall);
          done += perCall;
        }
      }),
    );
    return done / ((performance.now() - t0) / 1000);
  };
  const batched = async (reuse: boolean) => {
    const batcher = new DynamicBatcher((x, n) => pool.run('flights', x, n), dim, 1, {
      maxBatchSize: settings.maxBatchSize,
      maxDelayMs: settings.maxDelayMs,
      maxQueueRows: 4 * B2_CALLERS,
      timeoutMs: 60_000,
      concurrency: 2,
    });
    try {
      return await rowsPerS(B2_CALLERS, 1, reuse, (x, n) => batcher.submit(x, n));
    } finally {
      batcher.close();
    }
  };
  const variants: Record<keyof BatcherRound, () => Promise<number>> = {
    batcherRowsPerS: () => batched(true),
    batcherFreshRowsPerS: () => batched(false),
    // Two runs in flight, like the batcher's concurrency 2. The pool transfers every input.
    batch1RowsPerS: () => rowsPerS(2, 1, false, (x, n) => pool.run('flights', x, n)),
    batch32RowsPerS: () => rowsPerS(2, 32, false, (x, n) => pool.run('flights', x, n)),
  };
  const out: BatcherRound[] = [];
  try {
    await pool.load('flights', onnx);
    const names = Object.keys(variants) as (keyof BatcherRound)[];
    for (let r = 0; r < b2Warmups + rounds; r++) {
      const round = {} as BatcherRound;
      for (const name of rotate(names, r)) round[name] = await variants[name]();
      if (r >= b2Warmups) out.push(round);
      console.log(
        `  B2 round ${r + 1}${r < b2Warmups ? ' (warm-up)' : ''}: batcher ${fmt(round.batcherRowsPerS)} rows/s (new buffer per submit ${fmt(round.batcherFreshRowsPerS)}), batch 1 ${fmt(round.batch1RowsPerS)}, batch 32 ${fmt(round.batch32RowsPerS)}`,
      );
    }
  } finally {
    await pool.close();
  }
  return out;
}

/** B2's summary keys: batch 32 vs 1, and the batcher vs batch 32 (reused and fresh buffers). */
export function batcherSummary(b2: readonly BatcherRound[]) {
  return {
    batch_speedup: medianRatio(b2.map((r) => [r.batch32RowsPerS, r.batch1RowsPerS])),
    batcher_efficiency: medianRatio(b2.map((r) => [r.batcherRowsPerS, r.batch32RowsPerS])),
    batcher_efficiency_fresh: medianRatio(b2.map((r) => [r.batcherFreshRowsPerS, r.batch32RowsPerS])),
  };
}
