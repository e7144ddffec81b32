// `flywheel serve` started while the workflow service is down: predictions work at once, async
// jobs answer 503 (and /readyz says `jobs: false`), and once a Temporal server comes up on the
// configured address the server connects by itself — jobs are accepted without a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { freePort, spawnNode, type Spawned } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/serving-reconnect-${tag}`;
const NAME = `flights-reconnect-${tag}`;
let db: PostgresDatabase;
let key: string;
let instances: FixtureInstance[];
let serve: Spawned | undefined;
let temporal: ChildProcess | undefined;

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
  await registerFixtureModel({ registry: new BuiltinRegistry(db), store, name: NAME, spec: await fitFixtureSpec(), alias: 'champion' });
  instances = await sampleInstances(5, 11);
  key = (await createApiKey(db, { name: `reconnect-${tag}`, scopes: ['predict'] })).key;
}, 120_000);

afterAll(async () => {
  for (const child of [serve?.child, temporal]) if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await serve?.exited;
  await db?.close();
});

async function submitJob(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/models/${NAME}/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ instances }),
  });
  return { status: res.status, body: await res.text() };
}

describe('flywheel serve without its workflow service at start', () => {
  it('serves predictions, refuses jobs with 503, and accepts them once Temporal comes up — no restart', async () => {
    const temporalPort = await freePort();
    const port = await freePort();
    serve = spawnNode(['bin/flywheel.js', 'serve'], {
      ...infra.env,
      MLFLOW_TRACKING_URI: '',
      ARTIFACT_STORE: storeUri,
      FLYWHEEL_SERVE_MODELS: NAME,
      FLYWHEEL_SERVE_PORT: String(port),
      FLYWHEEL_LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    });
    await serve.waitFor('inference server listening', 90_000);
    const url = `http://127.0.0.1:${port}`;

    const predict = await fetch(`${url}/v1/models/${NAME}/predict`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    expect(predict.status).toBe(200);
    const refused = await submitJob(url);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/has not reached yet \(it keeps trying\)/);
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, jobs: false });

    temporal = spawn(
      infra.temporalCliPath,
      ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(temporalPort), '--headless', '--log-level', 'error'],
      { stdio: 'ignore' },
    );
    // Backoff is capped at 30 s; allow for it plus the dev server's start.
    const deadline = Date.now() + 75_000;
    let accepted: { status: number; body: string } | undefined;
    while (Date.now() < deadline) {
      const attempt = await submitJob(url);
      if (attempt.status === 202) {
        accepted = attempt;
        break;
      }
      expect(attempt.status).toBe(503);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(accepted?.status).toBe(202);
    expect(JSON.parse(accepted!.body)).toMatchObject({ status: 'running' });
    expect(await (await fetch(`${url}/readyz`)).json()).toMatchObject({ ready: true, jobs: true });
    expect(serve.output()).toMatch(/workflow service connected: async jobs and events are on/);
  }, 180_000);
});
