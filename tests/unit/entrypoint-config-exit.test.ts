// Invalid configuration: every entry point exits with code 2 and names the variable.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('entry points with invalid configuration', () => {
  it.each([
    ['flywheel config', ['bin/flywheel.js', 'config']],
    ['flywheel dev', ['bin/flywheel.js', 'dev']],
    ['CPU worker', ['--import', 'tsx', 'workers/cpu/main.ts']],
    ['GPU worker', ['--import', 'tsx', 'workers/gpu/main.ts']],
  ])(
    '%s exits 2 naming the variable',
    (_name, args) => {
      const res = run(args, { TEMPORAL_ADDRESS: 'localhost', FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: '-5' });
      expect(res.status, res.stderr).toBe(2);
      expect(res.stderr).toContain('TEMPORAL_ADDRESS: expected host:port');
      expect(res.stderr).toContain('FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS');
    },
    60_000,
  );

  it('flywheel serve exits 2 naming each bad variable', () => {
    const res = run(['bin/flywheel.js', 'serve'], {
      TEMPORAL_ADDRESS: 'localhost',
      FLYWHEEL_SERVE_PORT: '99999',
      FLYWHEEL_SERVE_BATCHING: 'maybe',
    });
    expect(res.status, res.stderr).toBe(2);
    expect(res.stderr).toContain('TEMPORAL_ADDRESS: expected host:port');
    expect(res.stderr).toContain('FLYWHEEL_SERVE_PORT: expected a TCP port number 0–65535 (0: any free port); got "99999"');
    expect(res.stderr).toContain('FLYWHEEL_SERVE_BATCHING: expected true or false');
  }, 60_000);

  it('flywheel config prints the parsed configuration with secrets redacted', () => {
    const res = run(['bin/flywheel.js', 'config'], { DATABASE_URL: 'postgres://u:topsecret@h:5432/d', FLYWHEEL_DATA_DIR: '/tmp/fw' });
    expect(res.status, res.stderr).toBe(0);
    const printed = JSON.parse(res.stdout) as { database: { kind: string; url: string }; dataDir: string };
    expect(printed.database).toEqual({ kind: 'postgres', url: '[redacted]' });
    expect(printed.dataDir).toBe('/tmp/fw');
    expect(res.stdout).not.toContain('topsecret');
  }, 60_000);
});
