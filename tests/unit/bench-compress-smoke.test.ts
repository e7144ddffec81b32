// CI smoke test of `npm run bench:compress -- --quick`: it runs the trainer's compression code on a
// small teacher and keeps its output contract (summary line last, the headline keys). Speed and
// AUC are not asserted here: benchmarks measure them, tests do not.
import { describe, expect, it } from 'vitest';
import { BENCH_QUICK_TIMEOUT_MS, quickBenchSummary } from '../fixtures/bench-quick.ts';

describe('bench:compress --quick', () => {
  it(
    'prints its summary line last, with the headline keys',
    () => {
      const last = quickBenchSummary('bench/compress.ts');
      expect(last).toMatch(
        /^bench:compress distill_throughput_ratio=\S+ distill_auc_delta=\S+ prune_sparsity=0\.5000 prune_auc_delta=\S+ .* rounds=1$/,
      );
    },
    BENCH_QUICK_TIMEOUT_MS,
  );
});
