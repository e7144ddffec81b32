// `flywheel config` checks what every process kind reads (workers, the inference server, the
// CLI), names every bad variable at once, and prints the result without secrets or URL passwords.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function config(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', 'config', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: '/tmp/fw-config', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('flywheel config', () => {
  it('checks the serving settings: FLYWHEEL_SERVE_PORT=abc exits 2 naming the variable', () => {
    const res = config({ FLYWHEEL_SERVE_PORT: 'abc' });
    expect(res.status).toBe(2);
    expect(res.stderr).toBe(
      'Invalid configuration:\n  FLYWHEEL_SERVE_PORT: expected a TCP port number 0–65535 (0: any free port); got "abc"\n',
    );
    expect(res.stdout).toBe('');
  }, 60_000);

  it('reports every problem across the worker and the server, a shared variable once', () => {
    const res = config({ TEMPORAL_ADDRESS: 'localhost', FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: '-5', FLYWHEEL_SERVE_BATCHING: 'maybe' });
    expect(res.status).toBe(2);
    const lines = res.stderr.trim().split('\n');
    expect(lines[0]).toBe('Invalid configuration:');
    expect(lines.filter((l) => l.startsWith('  TEMPORAL_ADDRESS:'))).toHaveLength(1);
    expect(res.stderr).toContain('  FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: expected a positive integer number of milliseconds; got "-5"');
    expect(res.stderr).toContain('  FLYWHEEL_SERVE_BATCHING: expected true or false');
    expect(lines).toHaveLength(4);
  }, 60_000);

  it('prints worker and serving settings together; --json gives the same document', () => {
    const env = { FLYWHEEL_SERVE_PORT: '9090', FLYWHEEL_WORKER_SHUTDOWN_GRACE_MS: '5000' };
    const res = config(env);
    expect(res.status, res.stderr).toBe(0);
    const printed = JSON.parse(res.stdout) as {
      worker: { shutdownGraceMs: number };
      serve: { port: number };
      temporal: { address: string };
    };
    expect(printed.worker.shutdownGraceMs).toBe(5000);
    expect(printed.serve.port).toBe(9090);
    expect(printed.temporal.address).toBe('127.0.0.1:7233');
    expect(config(env, '--json').stdout).toBe(res.stdout);
  }, 60_000);

  it('redacts passwords inside URLs and every secret', () => {
    const res = config({
      MLFLOW_TRACKING_URI: 'http://mlflow-user:hunter2@mlflow.internal:5000',
      S3_ENDPOINT: 'http://access:s3cr@t@127.0.0.1:7070',
      FLYWHEEL_SERVING_URL: 'http://admin:pw-in-url@127.0.0.1:8080',
      FLYWHEEL_SERVING_ADMIN_KEY: 'fw_admin_key',
      TEMPORAL_API_KEY: 'temporal-cloud-key',
      DATABASE_URL: 'postgres://u:dbpass@h:5432/d',
    });
    expect(res.status, res.stderr).toBe(0);
    for (const secret of ['hunter2', 's3cr', 'pw-in-url', 'fw_admin_key', 'temporal-cloud-key', 'dbpass'])
      expect(res.stdout).not.toContain(secret);
    const printed = JSON.parse(res.stdout) as {
      mlflow: { trackingUri: string };
      artifactStore: { s3: { endpoint: string } };
      serving: { url: string; adminKey: string };
      temporal: { apiKey: string };
      database: { url: string };
    };
    expect(printed.mlflow.trackingUri).toBe('http://mlflow-user:[redacted]@mlflow.internal:5000');
    expect(printed.artifactStore.s3.endpoint).toBe('http://access:[redacted]@127.0.0.1:7070');
    expect(printed.serving).toEqual({ url: 'http://admin:[redacted]@127.0.0.1:8080', adminKey: '[redacted]' });
    expect(printed.temporal.apiKey).toBe('[redacted]');
    expect(printed.database.url).toBe('[redacted]');
  }, 60_000);
});
