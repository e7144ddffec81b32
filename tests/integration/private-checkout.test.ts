// A checkout in a private folder (mode 700, e.g. `git clone … "$(mktemp -d)/p"`): every file a
// server writes as another user (PostgreSQL runs as `postgres` when the scripts run as root) must
// live where that user can write, or `npm test` fails before a single test runs.
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ROOT } from './processes.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('infra scripts from a private checkout (as root)', () => {
  const home = mkdtempSync(join(tmpdir(), 'flywheel-private-'));
  const checkout = join(home, 'p');
  let env: Record<string, string> = {};
  let port = 0;
  const infra = (...args: string[]) =>
    spawnSync('bash', [join(checkout, 'infra/scripts/infra.sh'), ...args], { cwd: checkout, env, encoding: 'utf8', timeout: 120_000 });

  afterAll(() => {
    if (port) infra('down', 'postgres');
    rmSync(home, { recursive: true, force: true });
    if (port)
      for (const p of [`/var/tmp/flywheel-postgres-${port}`, `/var/tmp/flywheel-postgres-${port}.log`])
        rmSync(p, { recursive: true, force: true });
  });

  it('starts PostgreSQL, which cannot enter the checkout, with its data and log outside it', async () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    cpSync(join(ROOT, 'infra'), join(checkout, 'infra'), { recursive: true });
    port = await freePort();
    env = { ...(process.env as Record<string, string>), FLYWHEEL_INFRA_PG_PORT: String(port) };
    delete env.FLYWHEEL_INFRA_DIR;

    const up = infra('up', 'postgres');
    expect(up.stderr).not.toMatch(/Permission denied/);
    expect(up.status, up.stderr).toBe(0);

    // The server answers queries, and its log is reachable from the usual place.
    const psql = spawnSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'flywheel', '-d', 'flywheel', '-tAc', 'SELECT 40 + 2'], {
      encoding: 'utf8',
    });
    expect(psql.stdout.trim()).toBe('42');
    const link = join(checkout, '.flywheel/infra/postgres.log');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`/var/tmp/flywheel-postgres-${port}.log`);
    expect(readFileSync(link, 'utf8')).toMatch(/database system is ready to accept connections/);
    expect(readFileSync(join(checkout, '.flywheel/infra/postgres.datadir'), 'utf8').trim()).toBe(`/var/tmp/flywheel-postgres-${port}`);
  });
});
