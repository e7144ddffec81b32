// The observability knobs: the worker's health server (off unless a port is given) and the
// serving access log's sampling, with clear errors for values that cannot work.
import { describe, expect, it } from 'vitest';
import { configErrorOf } from '../fixtures/config-error.ts';
import { loadConfig } from '../../lib/config/index.ts';

describe('worker health server knobs', () => {
  it('is off unless FLYWHEEL_WORKER_HTTP_PORT is set; 0 asks for a free port on loopback', () => {
    expect(loadConfig('worker', {}).worker.http).toBeUndefined();
    expect(loadConfig('worker', { FLYWHEEL_WORKER_HTTP_HOST: '0.0.0.0' }).worker.http).toBeUndefined();
    expect(loadConfig('worker', { FLYWHEEL_WORKER_HTTP_PORT: '0' }).worker.http).toEqual({ host: '127.0.0.1', port: 0 });
    expect(loadConfig('worker', { FLYWHEEL_WORKER_HTTP_PORT: '9464', FLYWHEEL_WORKER_HTTP_HOST: '0.0.0.0' }).worker.http).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
  });

  it('refuses a port that is not one, naming the variable', () => {
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_WORKER_HTTP_PORT: 'metrics' }))).toContain('FLYWHEEL_WORKER_HTTP_PORT');
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_WORKER_HTTP_PORT: '70000' }))).toContain('FLYWHEEL_WORKER_HTTP_PORT');
  });
});

describe('serving access log knobs', () => {
  it('samples 1% with a 1 s slow threshold by default', () => {
    const { serve } = loadConfig('serve', {});
    expect([serve.accessLogSample, serve.accessLogSlowMs]).toEqual([0.01, 1000]);
    expect(loadConfig('serve', { FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE: '0' }).serve.accessLogSample).toBe(0);
  });

  it('refuses a sample outside 0..1', () => {
    expect(configErrorOf(() => loadConfig('serve', { FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE: '1.5' }))).toContain(
      'FLYWHEEL_SERVE_ACCESS_LOG_SAMPLE',
    );
    expect(configErrorOf(() => loadConfig('serve', { FLYWHEEL_SERVE_ACCESS_LOG_SLOW_MS: '0' }))).toContain(
      'FLYWHEEL_SERVE_ACCESS_LOG_SLOW_MS',
    );
  });
});
