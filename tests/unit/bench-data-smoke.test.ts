// CI smoke test of B8 (`npm run bench:data -- --quick`): it runs, keeps its output contract, and
// its drift detector misses no injected shift and raises no false alarm. Speed is not asserted
// here: benchmarks measure speed, tests do not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench:data --quick', () => {
  it('prints its summary line last, with correct detector results', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'bench/data.ts', '--quick'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const last = res.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^bench:data speedup=\S+ profile_3m_s=\S+ drift_ms=\S+ baseline_s=\S+ missed_shifts=0 false_alarms=0 rows=300000 rounds=1$/,
    );
  }, 120_000);
});
