// CI smoke test of B8 (`npm run bench:data -- --quick`): it runs, keeps its output contract, and
// its drift detector misses no injected shift and raises no false alarm. Speed is not asserted
// here: benchmarks measure speed, tests do not.
import { describe, expect, it } from 'vitest';
import { BENCH_QUICK_TIMEOUT_MS, quickBenchSummary } from '../fixtures/bench-quick.ts';

describe('bench:data --quick', () => {
  it(
    'prints its summary line last, with correct detector results',
    () => {
      const last = quickBenchSummary('bench/data.ts');
      expect(last).toMatch(
        /^bench:data speedup=\S+ profile_3m_s=\S+ drift_ms=\S+ baseline_s=\S+ missed_shifts=0 false_alarms=0 rows=300000 rounds=1$/,
      );
    },
    BENCH_QUICK_TIMEOUT_MS,
  );
});
