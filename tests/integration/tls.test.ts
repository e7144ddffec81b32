// TLS end to end. Temporal: HAProxy terminates TLS and verifies client certificates in front of
// the dev server (which has no TLS of its own); a client and a worker configured only through
// the envconfig variables or a profile file run a workflow over mTLS, and a client without a
// certificate is refused. Serving: predictions over HTTPS, and admin routes that need a client
// certificate when FLYWHEEL_SERVE_TLS_CLIENT_CA is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { createServingAdmin } from '../../lib/rollout/serving-admin.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { connectClient, connectWorkerConnection } from '../../lib/temporal/connection.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances } from '../fixtures/fixture-models.ts';
import { makeTestCerts, type TestCerts } from '../fixtures/tls-certs.ts';
import { getInfra } from './infra.ts';
import { freePort, ROOT } from './processes.ts';
import { tlsEcho } from './tls.workflows.ts';

const infra = getInfra();
const tag = randomUUID().slice(0, 8);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
let certs: TestCerts;
let haproxy: ChildProcess | undefined;
let haproxyOutput = '';
let tlsAddress: string;

/** Resolves once HAProxy completes a TLS handshake on `port` (with the client certificate). */
async function waitForTls(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        ca: readFileSync(certs.caCert),
        cert: readFileSync(certs.clientCert),
        key: readFileSync(certs.clientKey),
        ALPNProtocols: ['h2'],
      });
      socket.once('secureConnect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline || haproxy?.exitCode != null) throw new Error(`HAProxy did not start:\n${haproxyOutput}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  certs = makeTestCerts();
  const port = await freePort();
  tlsAddress = `127.0.0.1:${port}`;
  haproxy = spawn(infra.haproxyPath ?? 'haproxy', ['-db', '-f', join(ROOT, 'infra/haproxy/temporal-tls.cfg')], {
    env: {
      PATH: process.env.PATH ?? '',
      TEMPORAL_TLS_BIND: tlsAddress,
      TEMPORAL_TLS_SERVER_PEM: certs.serverPem,
      TEMPORAL_TLS_CLIENT_CA: certs.caCert,
      TEMPORAL_TLS_UPSTREAM: infra.temporalAddress,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  haproxy.stdout!.on('data', (d: Buffer) => (haproxyOutput += d.toString()));
  haproxy.stderr!.on('data', (d: Buffer) => (haproxyOutput += d.toString()));
  await waitForTls(port);
}, 30_000);

afterAll(() => {
  haproxy?.kill('SIGTERM');
});

describe('Temporal over mTLS', () => {
  it('a worker configured by a profile file and a client configured by variables run a workflow', async () => {
    const profileFile = join(certs.dir, 'temporal.toml');
    writeFileSync(
      profileFile,
      [
        '[profile.mtls]',
        `address = "${tlsAddress}"`,
        'namespace = "default"',
        '[profile.mtls.tls]',
        `client_cert_path = "${certs.clientCert}"`,
        `client_key_path = "${certs.clientKey}"`,
        `server_ca_cert_path = "${certs.caCert}"`,
        'server_name = "localhost"',
      ].join('\n'),
    );
    const workerConfig = loadConfig('cli', { TEMPORAL_CONFIG_FILE: profileFile, TEMPORAL_PROFILE: 'mtls' }).temporal;
    // The envconfig names, plus one older alias (TEMPORAL_TLS_CA) that must still work.
    const clientConfig = loadConfig('cli', {
      TEMPORAL_ADDRESS: tlsAddress,
      TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
      TEMPORAL_TLS_CA: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    }).temporal;
    expect(workerConfig.address).toBe(tlsAddress);
    expect(workerConfig.tls).toMatchObject({ certPath: certs.clientCert, serverName: 'localhost' });

    const taskQueue = `tls-${tag}`;
    const connection = await connectWorkerConnection(workerConfig);
    const client = await connectClient(clientConfig);
    try {
      const worker = await createWorker({
        connection,
        namespace: workerConfig.namespace,
        taskQueue,
        workflowBundle: await bundleWorkflowCode({ workflowsPath: join(ROOT, 'tests/integration/tls.workflows.ts'), logger: quiet }),
      });
      const result = await worker.runUntil(
        client.workflow.execute(tlsEcho, { taskQueue, workflowId: `tls-echo-${tag}`, args: [{ text: 'over mTLS' }] }),
      );
      expect(result).toBe('echo: over mTLS');
    } finally {
      await client.connection.close();
      await connection.close();
    }
  });

  it('refuses a client without a certificate, with an error that says why', async () => {
    const config = loadConfig('cli', {
      TEMPORAL_ADDRESS: tlsAddress,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    }).temporal;
    expect(config.tls).toEqual({ caPath: certs.caCert, serverName: 'localhost' });
    const err = await connectClient(config, { connectTimeoutMs: 2_000 }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(
      new RegExp(`^cannot connect to Temporal at ${tlsAddress} over TLS: the server refused the client certificate, or none was sent`),
    );
    expect(err?.message).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH');
    // The worker's connection (the SDK's Rust core) gets the same explanation.
    await expect(connectWorkerConnection(config)).rejects.toThrow(
      `cannot connect to Temporal at ${tlsAddress} over TLS: the server refused the client certificate, or none was sent`,
    );
  });
});

interface HttpsAnswer {
  status: number;
  json: { error?: { code: string; message: string }; predictions?: unknown[] };
}

function httpsCall(
  url: string,
  path: string,
  init: { key: string; body?: unknown; clientCert?: 'trusted' | 'rogue' },
): Promise<HttpsAnswer> {
  const pair =
    init.clientCert === 'trusted'
      ? { cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) }
      : init.clientCert === 'rogue'
        ? { cert: readFileSync(certs.rogueCert), key: readFileSync(certs.rogueKey) }
        : {};
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, url),
      {
        method: body === undefined ? 'GET' : 'POST',
        ca: readFileSync(certs.caCert),
        ...pair,
        // A fresh agent per call: no TLS session is resumed from a call with another certificate.
        agent: false,
        headers: { authorization: `Bearer ${init.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as HttpsAnswer['json'] }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('inference server over HTTPS', () => {
  const NAME = `flights-tls-${tag}`;
  let db: PostgresDatabase;
  let server: InferenceServer;
  let url: string;
  let predictKey: string;
  let adminKey: string;

  beforeAll(async () => {
    db = await PostgresDatabase.create(infra.databaseUrl);
    await migrate(db);
    const registry = new BuiltinRegistry(db);
    const store = await LocalArtifactStore.create(`file://${await mkdtemp(join(tmpdir(), 'tls-serve-'))}`);
    await registerFixtureModel({ registry, store, name: NAME, spec: await fitFixtureSpec(2_000), alias: 'champion' });
    predictKey = (await createApiKey(db, { name: `predict-${tag}`, scopes: ['predict'] })).key;
    adminKey = (await createApiKey(db, { name: `admin-${tag}`, scopes: ['admin', 'predict'] })).key;
    const settings = loadConfig('serve', {
      FLYWHEEL_SERVE_PORT: '0',
      FLYWHEEL_SERVE_MODELS: NAME,
      FLYWHEEL_SERVE_REFRESH_MS: '600000',
      FLYWHEEL_SERVE_TLS_CERT: certs.serverCert,
      FLYWHEEL_SERVE_TLS_KEY: certs.serverKey,
      FLYWHEEL_SERVE_TLS_CLIENT_CA: certs.caCert,
    }).serve;
    server = await createInferenceServer({ settings, db, registry, store, logger: silentLogger(), predictionLog: false });
    url = (await server.start()).replace('127.0.0.1', 'localhost');
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
  });

  it('answers predict over HTTPS with an API key and no client certificate', async () => {
    expect(url).toMatch(/^https:\/\/localhost:\d+$/);
    const res = await httpsCall(url, `/v1/models/${NAME}/predict`, { key: predictKey, body: { instances: await sampleInstances(3) } });
    expect(res.status).toBe(200);
    expect(res.json.predictions).toHaveLength(3);
  });

  it('refuses an admin route without a client certificate or with an untrusted one, and serves it with a trusted one', async () => {
    const path = `/v1/admin/models/${NAME}/routing`;
    const none = await httpsCall(url, path, { key: adminKey });
    expect(none.status).toBe(401);
    expect(none.json.error?.message).toMatch(/client certificate.*none was presented/);
    const rogue = await httpsCall(url, path, { key: adminKey, clientCert: 'rogue' });
    expect(rogue.status).toBe(403);
    expect(rogue.json.error?.message).toMatch(/client certificate "rogue" is not trusted/);
    const trusted = await httpsCall(url, path, { key: adminKey, clientCert: 'trusted' });
    expect(trusted.status).toBe(200);
    // The certificate is a second factor: the admin scope is still needed.
    const wrongScope = await httpsCall(url, path, { key: predictKey, clientCert: 'trusted' });
    expect(wrongScope.status).toBe(403);
    expect(wrongScope.json.error?.message).toMatch(/lacks the "admin" scope/);
  });
  it("the rollout's admin client reaches a client-certificate server through FLYWHEEL_SERVING_TLS_*", async () => {
    const env = { FLYWHEEL_SERVING_URL: url, FLYWHEEL_SERVING_ADMIN_KEY: adminKey, FLYWHEEL_SERVING_TLS_CA: certs.caCert };
    const withCert = loadConfig('worker', {
      ...env,
      FLYWHEEL_SERVING_TLS_CERT: certs.clientCert,
      FLYWHEEL_SERVING_TLS_KEY: certs.clientKey,
    }).serving!;
    const admin = createServingAdmin({ url: withCert.url, adminKey: withCert.adminKey!.reveal(), tls: withCert.tls! });
    expect((await admin.getRoute(NAME)).champion.version).toBeGreaterThan(0);
    // Trusting the server is not enough: the admin route still wants the client certificate.
    const withoutCert = loadConfig('worker', env).serving!;
    const refused = createServingAdmin({ url: withoutCert.url, adminKey: withoutCert.adminKey!.reveal(), tls: withoutCert.tls! });
    await expect(refused.getRoute(NAME)).rejects.toThrow(/→ 401: .*client certificate/);
    // Half a pair is a configuration error naming the missing variable.
    expect(() => loadConfig('worker', { ...env, FLYWHEEL_SERVING_TLS_CERT: certs.clientCert })).toThrow(/FLYWHEEL_SERVING_TLS_KEY/);
  });
});
