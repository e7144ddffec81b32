// CI smoke test of `npm run bench:compress -- --quick`: it runs the trainer's compression code on a
// small teacher and keeps its output contract (summary line last, the headline keys). Speed and
// AUC are not asserted here: benchmarks measure them, tests do not.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('bench:compress --quick', () => {
  it('prints its summary line last, with the headline keys', () => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', 'bench/compress.ts', '--quick'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const last = res.stdout.trim().split('\n').at(-1)!;
    expect(last).toMatch(
      /^bench:compress distill_throughput_ratio=\S+ distill_auc_delta=\S+ prune_sparsity=0\.5000 prune_auc_delta=\S+ .* rounds=1$/,
    );
  }, 120_000);
});
