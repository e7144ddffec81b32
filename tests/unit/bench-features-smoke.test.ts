// CI smoke test of `npm run bench:features -- --quick`: it runs, keeps its output contract, and
// the generic encoder agrees bit for bit with encodeFlights on the benchmark's rows. Speed is not
// asserted here: benchmarks measure speed, tests do not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench:features --quick', () => {
  it('prints its summary line last, with identical outputs', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'bench/features.ts', '--quick'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const last = res.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^bench:features generic_rows_per_s=\d+ handwritten_rows_per_s=\d+ time_ratio=\S+ request_time_ratio_b1=\S+ request_time_ratio_b32=\S+ identical=1 rounds=1$/,
    );
  }, 120_000);
});
