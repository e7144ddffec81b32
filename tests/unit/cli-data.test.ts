// `flywheel data` as a user runs it, on the embedded defaults (a local artifact folder).
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-cli-data-'));
});

describe('flywheel data', () => {
  it('seeds a month once; a second seed writes nothing', () => {
    const first = flywheel('data', 'seed', '--months', '2001-02');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('2001-02: wrote 458170 rows');
    const second = flywheel('data', 'seed', '--months', '2001-02');
    expect(second.stdout).toContain('2001-02: already seeded (458170 rows)');
    expect(second.stdout).toContain('Done: 0 written, 1 already present.');
  }, 60_000);

  it('publishes an arrival once per content', () => {
    // No workflow service here: the lifecycle notification is covered by tests/integration.
    const first = flywheel('data', 'arrive', '2001-02', '--no-notify');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Published data-arrived\/flights\/2001-02\//);
    const second = flywheel('data', 'arrive', '2001-02', '--no-notify');
    expect(second.stdout).toMatch(/^Already published: data-arrived\/flights\/2001-02\//);
    const bad = flywheel('data', 'arrive', '2001-13');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('month must be YYYY-MM');
  }, 60_000);

  it('validates a file by hand: exit 0 when it passes, 1 with the report when it does not', async () => {
    const good = flywheel(
      'data',
      'validate',
      join(dataDir, 'artifacts/raw/flights/month=2001-02/part-0000.parquet'),
      '--spec',
      'examples/flights/validation.yaml',
    );
    expect(good.status, good.stdout + good.stderr).toBe(0);
    expect(good.stdout).toContain('Result: PASSED — 0 error(s), 0 warning(s), 458170 rows');

    const junk = join(dataDir, 'junk.parquet');
    await writeFile(junk, 'definitely not parquet');
    const bad = flywheel('data', 'validate', junk, '--spec', 'examples/flights/validation.yaml');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('ERROR   [unreadable]');
    expect(bad.stdout).toContain('junk.parquet');

    const badSpec = join(dataDir, 'spec.yaml');
    await writeFile(badSpec, 'dataset: x\ncolumns:\n  a: { type: decimalish }\n');
    const specErr = flywheel('data', 'validate', junk, '--spec', badSpec);
    expect(specErr.status).toBe(1);
    expect(specErr.stderr).toContain('columns.a.type');
  }, 60_000);
});
