// The habits every `flywheel` command shares, as a user sees them: --version, the global
// --address/--namespace options, the exit codes, and a quick clear answer when Temporal is down.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;

function flywheel(args: string[], env: Record<string, string> = {}) {
  const started = Date.now();
  const res = spawnSync(process.execPath, ['bin/flywheel.js', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { ...res, elapsedMs: Date.now() - started };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-cli-habits-'));
});

describe('flywheel --version and --help', () => {
  it('prints the version from package.json, and nothing else', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const res = flywheel([flag]);
      expect(res.status, res.stderr).toBe(0);
      expect(res.stdout).toBe(`${version}\n`);
    }
  }, 60_000);

  it('lists the global options and the exit codes', () => {
    const res = flywheel(['--help']);
    expect(res.status).toBe(0);
    expect(res.stdout).toContain('--address <host:port>  Temporal frontend address (overrides TEMPORAL_ADDRESS)');
    expect(res.stdout).toContain('--namespace <name>');
    expect(res.stdout).toContain('Exit codes:');
    expect(res.stdout).toMatch(
      /\n {2}1 {2}the command failed, or the workflow it waited on ended failed, cancelled, terminated or timed out\n/,
    );
    expect(res.stdout).toMatch(/\n {2}3 {2}Temporal unreachable/);
    // A command's help shows them too, as global options.
    expect(flywheel(['pipeline', 'status', '--help']).stdout).toMatch(/Global Options:[\s\S]*--address <host:port>/);
  }, 60_000);
});

describe('Temporal unreachable', () => {
  const address = '127.0.0.1:1'; // nothing listens on port 1

  it.each([
    ['pipeline status (--address before the command)', ['--address', address, 'pipeline', 'status', 'm']],
    ['pipeline status (--address after it)', ['pipeline', 'status', 'm', '--address', address]],
    ['batch status', ['batch', 'status', 'batch/m/x', '--address', address]],
    ['rollout status', ['rollout', 'status', 'm', '--address', address]],
    ['monitor check', ['monitor', 'check', 'm', '--address', address]],
  ])(
    '%s: exit 3 within 5 s, naming the address and TEMPORAL_ADDRESS',
    (_name, args) => {
      const res = flywheel(args);
      expect(res.status, res.stderr).toBe(3);
      expect(res.elapsedMs).toBeLessThan(5000);
      expect(res.stderr.trim()).toBe(
        'error: cannot reach Temporal at 127.0.0.1:1 (connection refused); set TEMPORAL_ADDRESS=<host:port> or pass --address <host:port> (`flywheel dev` runs a local one on 127.0.0.1:7233)',
      );
      expect(res.stdout).toBe('');
    },
    60_000,
  );

  it('reads TEMPORAL_ADDRESS when no --address is given', () => {
    const res = flywheel(['pipeline', 'status', 'm'], { TEMPORAL_ADDRESS: address });
    expect(res.status).toBe(3);
    expect(res.stderr).toContain('cannot reach Temporal at 127.0.0.1:1');
  }, 60_000);

  it('names an unknown host as such', () => {
    const res = flywheel(['pipeline', 'status', 'm', '--address', 'no-such-host.invalid:7233']);
    expect(res.status).toBe(3);
    expect(res.stderr).toContain('cannot reach Temporal at no-such-host.invalid:7233 (unknown host)');
  }, 60_000);

  it("keeps a command's own --version: `batch start --version 3` is the model version, not the CLI's", () => {
    const res = flywheel([
      'batch',
      'start',
      'file:///tmp/x.parquet',
      '--model',
      'm',
      '--output',
      'o',
      '--version',
      '3',
      '--address',
      address,
    ]);
    expect(res.status).toBe(3);
    expect(res.stdout).toBe('');
  }, 60_000);
});

describe('global options', () => {
  it('--address and --namespace override the variables for every command (flywheel config shows it)', () => {
    const res = flywheel(['config', '--address', '10.1.2.3:7233', '--namespace', 'prod'], {
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
    });
    expect(res.status, res.stderr).toBe(0);
    const printed = JSON.parse(res.stdout) as { temporal: { address: string; namespace: string } };
    expect(printed.temporal).toEqual({ address: '10.1.2.3:7233', namespace: 'prod' });
  }, 60_000);

  it('a bad value is invalid configuration: exit 2, naming the option', () => {
    const res = flywheel(['--address', 'localhost', 'pipeline', 'status', 'm']);
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(
      'Invalid configuration:\n  --address: expected host:port, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233; got "localhost"\n',
    );
    const ns = flywheel(['pipeline', 'status', 'm', '--namespace', 'a b']);
    expect(ns.status).toBe(2);
    expect(ns.stderr).toContain('--namespace: expected a namespace name');
  }, 60_000);
});
