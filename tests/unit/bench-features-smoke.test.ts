// CI smoke test of `npm run bench:features -- --quick`: it runs, keeps its output contract, and
// the generic encoder agrees bit for bit with encodeFlights on the benchmark's rows. Speed is not
// asserted here: benchmarks measure speed, tests do not.
import { describe, expect, it } from 'vitest';
import { BENCH_QUICK_TIMEOUT_MS, quickBenchSummary } from '../fixtures/bench-quick.ts';

describe('bench:features --quick', () => {
  it(
    'prints its summary line last, with identical outputs',
    () => {
      const last = quickBenchSummary('bench/features.ts');
      expect(last).toMatch(
        /^bench:features generic_rows_per_s=\d+ handwritten_rows_per_s=\d+ time_ratio=\S+ request_time_ratio_b1=\S+ request_time_ratio_b32=\S+ identical=1 rounds=1$/,
      );
    },
    BENCH_QUICK_TIMEOUT_MS,
  );
});
