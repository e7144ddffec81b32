// One process owns an embedded PGlite folder: a CLI command run beside `flywheel dev` is refused
// with the owner named (its writes would otherwise vanish when dev closes the database), and the
// same command works, and sticks, once dev has stopped.
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { getInfra } from './infra.ts';
import { ROOT, startDevStack, type Spawned } from './processes.ts';

const infra = getInfra();
let dataDir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir, FLYWHEEL_ACTOR: 'lock-test' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

async function startDev(): Promise<{ dev: Spawned; servePort: number }> {
  return startDevStack({ dataDir, temporalCliPath: infra.temporalCliPath, serve: true });
}

async function stopDev(dev: Spawned): Promise<void> {
  dev.child.kill('SIGINT');
  expect(await dev.exited, dev.output()).toEqual({ code: 0, signal: null });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-pglite-lock-'));
  const { db } = await openDatabase(loadConfig('cli', { FLYWHEEL_DATA_DIR: dataDir }).database);
  try {
    await new BuiltinRegistry(db).createVersion({
      model: 'flights-delay',
      runId: 'run-a',
      artifactUri: 'file:///models/run-a/model.onnx',
      lineage: { datasetVersion: 'v-run-a', featureSpecHash: 'h', params: {} },
      metrics: { rocAuc: 0.7 },
      gateReportUri: 'file:///models/run-a/gates.json',
      tags: {},
    });
  } finally {
    await db.close();
  }
}, 60_000);

describe('PGlite has one owner', () => {
  it('refuses CLI writes while `flywheel dev` holds the folder, naming its pid; after dev stops they succeed and survive a restart', async () => {
    let { dev, servePort } = await startDev();
    try {
      const pid = dev.child.pid!;
      for (const args of [
        ['models', 'promote', 'flights-delay', '1', '--reason', 'beside dev'],
        ['keys', 'create', '--name', 'beside-dev', '--scopes', 'predict'],
      ]) {
        const res = flywheel(...args);
        expect(res.status, `${args.join(' ')}\n${res.stdout}${res.stderr}`).not.toBe(0);
        expect(res.stderr).toContain(`in use by pid ${pid} (\`flywheel dev`);
        expect(res.stderr).toContain('DATABASE_URL');
      }
      await stopDev(dev);

      const promote = flywheel('models', 'promote', 'flights-delay', '1', '--reason', 'after dev');
      expect(promote.status, promote.stderr).toBe(0);
      expect(promote.stdout).toContain('flights-delay@champion: (none) → v1 by lock-test (after dev)');
      const created = flywheel('keys', 'create', '--name', 'after-dev', '--scopes', 'predict', '--json');
      expect(created.status, created.stderr).toBe(0);
      const key = (JSON.parse(created.stdout) as { key: string }).key;

      // The restarted dev sees both writes: its server accepts the new key, and once it stops the
      // champion alias is still there.
      ({ dev, servePort } = await startDev());
      const models = await fetch(`http://127.0.0.1:${servePort}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(models.status).toBe(200);
      await stopDev(dev);
      const show = flywheel('models', 'show', 'flights-delay');
      expect(show.status, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/champion=v1/);
      expect(show.stdout).toMatch(/champion\s+-\s+v1\s+lock-test\s+after dev/);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    }
  }, 420_000);
});
