// `flywheel keys` on the embedded database (PGlite in a temporary data folder).
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', 'keys', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-cli-keys-'));
});

describe('flywheel keys', () => {
  it('list --json: the keys as a JSON array, never the keys themselves', () => {
    const empty = flywheel('list', '--json');
    expect(empty.status, empty.stderr).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual([]);

    const created = flywheel('create', '--name', 'ci', '--scopes', 'predict,events', '--json');
    expect(created.status, created.stderr).toBe(0);
    const { key, id } = JSON.parse(created.stdout) as { key: string; id: string };

    const list = flywheel('list', '--json');
    expect(list.status, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      { id, name: 'ci', scopes: ['predict', 'events'], rateLimitRps: null, createdAt: expect.any(String), revokedAt: null },
    ]);
    expect(list.stdout).not.toContain(key);
  }, 60_000);
});
