import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configErrorOf } from '../fixtures/config-error.ts';
import { loadConfig, Secret } from '../../lib/config/index.ts';

describe('loadConfig', () => {
  it('gives embedded defaults on an empty environment', () => {
    const config = loadConfig('worker', {});
    expect(config.env).toBe('dev');
    expect(config.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
    expect(config.database.kind).toBe('pglite');
    expect(config.artifactStore.uri).toMatch(/^file:\/\/\/.*\.flywheel\/artifacts$/);
    expect(config.mlflow).toEqual({});
    expect(config.worker.shutdownGraceMs).toBe(10_000);
  });

  it('gives the control worker its own activity slots: 8 by default, FLYWHEEL_CONTROL_ACTIVITY_SLOTS to change', () => {
    expect(loadConfig('worker', {}).worker.controlActivitySlots).toBe(8);
    expect(loadConfig('worker', { FLYWHEEL_CONTROL_ACTIVITY_SLOTS: '16' }).worker.controlActivitySlots).toBe(16);
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_CONTROL_ACTIVITY_SLOTS: '0' }))).toContain(
      'FLYWHEEL_CONTROL_ACTIVITY_SLOTS',
    );
  });

  it("caps the CPU worker's workflow cache only when asked (FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS)", () => {
    expect(loadConfig('worker', {}).worker).not.toHaveProperty('maxCachedWorkflows');
    expect(loadConfig('worker', { FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS: '300' }).worker.maxCachedWorkflows).toBe(300);
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS: '0' }))).toContain(
      'FLYWHEEL_WORKER_MAX_CACHED_WORKFLOWS',
    );
  });

  it('turns worker versioning on only with both a deployment name and a build id', () => {
    expect(loadConfig('worker', {}).worker).not.toHaveProperty('deploymentName');
    const on = loadConfig('worker', { FLYWHEEL_WORKER_DEPLOYMENT: 'flywheel', FLYWHEEL_WORKER_BUILD_ID: 'b-1' }).worker;
    expect(on).toMatchObject({ deploymentName: 'flywheel', buildId: 'b-1' });
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_WORKER_DEPLOYMENT: 'flywheel' }))).toContain('FLYWHEEL_WORKER_BUILD_ID');
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_WORKER_BUILD_ID: 'b-1' }))).toContain('FLYWHEEL_WORKER_DEPLOYMENT');
  });

  it('names the variable and the expected form for an invalid value', () => {
    const message = configErrorOf(() => loadConfig('worker', { TEMPORAL_ADDRESS: 'not an address' }));
    expect(message).toContain('TEMPORAL_ADDRESS');
    expect(message).toContain('host:port');
    expect(message).toContain('"not an address"');
  });

  it('reports every bad variable at once', () => {
    const message = configErrorOf(() =>
      loadConfig('worker', { FLYWHEEL_ENV: 'production', ARTIFACT_STORE: 'ftp://x', S3_FORCE_PATH_STYLE: 'maybe' }),
    );
    expect(message).toContain('FLYWHEEL_ENV: expected one of dev, staging, prod');
    expect(message).toContain('ARTIFACT_STORE: expected file:///absolute/folder or s3://bucket');
    expect(message).toContain('S3_FORCE_PATH_STYLE: expected true or false');
  });

  it('never echoes a secret value, even when it is invalid', () => {
    const message = configErrorOf(() => loadConfig('worker', { DATABASE_URL: 'mysql://root:hunter2@db/x' }));
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('hunter2');
  });

  it('requires DATABASE_URL in prod, where embedded PGlite is not enough', () => {
    expect(configErrorOf(() => loadConfig('worker', { FLYWHEEL_ENV: 'prod' }))).toContain('DATABASE_URL: required when FLYWHEEL_ENV=prod');
    expect(loadConfig('worker', { FLYWHEEL_ENV: 'prod', DATABASE_URL: 'postgres://u:p@h:5432/d' }).database.kind).toBe('postgres');
  });

  it('turns TLS on for mTLS and API keys, and insists on a cert/key pair', () => {
    const mtls = loadConfig('cli', { TEMPORAL_TLS_CERT: '/c.pem', TEMPORAL_TLS_KEY: '/k.pem' });
    expect(mtls.temporal.tls).toEqual({ certPath: '/c.pem', keyPath: '/k.pem' });
    const cloud = loadConfig('cli', { TEMPORAL_API_KEY: 'key-123', TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233' });
    expect(cloud.temporal.tls).toEqual({});
    expect(cloud.temporal.apiKey?.reveal()).toBe('key-123');
    expect(loadConfig('cli', { TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).temporal.tls).toBeUndefined();
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_TLS_CERT: '/c.pem' }))).toContain('TEMPORAL_TLS_KEY');
  });

  it('uses path-style addressing by default for a custom S3 endpoint', () => {
    const config = loadConfig('cli', { ARTIFACT_STORE: 's3://bucket/pre', S3_ENDPOINT: 'http://127.0.0.1:7070' });
    expect(config.artifactStore).toEqual({
      uri: 's3://bucket/pre',
      s3: { endpoint: 'http://127.0.0.1:7070', forcePathStyle: true, region: 'us-east-1' },
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig('cli', { DATABASE_URL: '', TEMPORAL_ADDRESS: '' }).temporal.address).toBe('127.0.0.1:7233');
  });

  it('keeps secrets out of JSON, string conversion and inspect', () => {
    const config = loadConfig('worker', {
      DATABASE_URL: 'postgres://flywheel:s3cr3t@db:5432/flywheel',
      TEMPORAL_API_KEY: 'tk-very-secret',
    });
    for (const rendered of [JSON.stringify(config), inspect(config, { depth: 10 }), String(new Secret('tk-very-secret'))]) {
      expect(rendered).not.toContain('s3cr3t');
      expect(rendered).not.toContain('tk-very-secret');
    }
  });
});
