// `flywheel serve` as a real process: async jobs accepted by one server survive its death and
// complete on another (a Temporal workflow per job, webhook included), keys come from
// `flywheel keys create`, and SIGTERM drains in-flight requests and flushes the prediction log
// before a clean exit.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { fitFixtureSpec, registerFixtureModel, sampleInstances, type FixtureInstance } from '../fixtures/fixture-models.ts';
import { signWebhook } from '../../serving/jobs/webhook.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { freePort, ROOT, spawnNode, spawnWorker, type Spawned } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/serving-proc-${tag}`;
const NAME = `flights-proc-${tag}`;
const WEBHOOK_SECRET = `whsec-${tag}-0123456789`;
// The receiver runs on loopback, which the webhook policy refuses unless the operator names it.
const env = {
  ...infra.env,
  MLFLOW_TRACKING_URI: '',
  ARTIFACT_STORE: storeUri,
  FLYWHEEL_SERVE_MODELS: NAME,
  FLYWHEEL_LOG_LEVEL: 'info',
  FLYWHEEL_SERVE_WEBHOOK_ALLOW: '127.0.0.1',
  FLYWHEEL_SERVE_WEBHOOK_SECRET: WEBHOOK_SECRET,
};
const children: Spawned[] = [];
let db: PostgresDatabase;
let key: string;
let instances: FixtureInstance[];
let webhook: Server;
let webhookUrl: string;
const webhookCalls: Array<{ jobId: string; status: string; result: { predictions: unknown[] } }> = [];
/** Whether each call's X-Flywheel-Signature verified against the shared secret. */
const webhookSignaturesOk: boolean[] = [];

function serve(port: number, extra: Record<string, string> = {}): Spawned {
  const s = spawnNode(['bin/flywheel.js', 'serve'], { ...env, FLYWHEEL_SERVE_PORT: String(port), ...extra });
  children.push(s);
  return s;
}

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
  await registerFixtureModel({ registry: new BuiltinRegistry(db), store, name: NAME, spec: await fitFixtureSpec(), alias: 'champion' });
  instances = await sampleInstances(40, 5000);
  const created = spawnSync(
    process.execPath,
    ['bin/flywheel.js', 'keys', 'create', '--name', `proc-${tag}`, '--scopes', 'predict', '--json'],
    { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' },
  );
  expect(created.status, created.stderr).toBe(0);
  key = (JSON.parse(created.stdout) as { key: string }).key;
  expect(key).toMatch(/^fw_[0-9a-f]{8}_/);
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const timestamp = String(req.headers['x-flywheel-timestamp']);
      webhookSignaturesOk.push(
        req.headers['x-flywheel-signature'] === signWebhook(WEBHOOK_SECRET, timestamp, body) &&
          Math.abs(Date.now() / 1000 - Number(timestamp)) < 300,
      );
      webhookCalls.push(JSON.parse(body) as (typeof webhookCalls)[number]);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  const address = webhook.address();
  webhookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  const worker = spawnWorker('cpu', { ...env, FLYWHEEL_WORKER_IDENTITY: `serving-proc-${tag}` });
  children.push(worker);
  await worker.waitFor('"worker started"', 90_000);
}, 180_000);

afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await new Promise((r) => webhook?.close(r));
  await db?.close();
});

describe('flywheel serve (process)', () => {
  it('async jobs accepted before a server dies complete after another one starts, with the webhook called', async () => {
    // Replica A only accepts jobs (FLYWHEEL_SERVE_JOBS=false): nothing runs them while it lives.
    const portA = await freePort();
    const a = serve(portA, { FLYWHEEL_SERVE_JOBS: 'false' });
    await a.waitFor('inference server listening', 60_000);
    const base = `http://127.0.0.1:${portA}`;
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const jobIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/v1/models/${NAME}/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ instances: instances.slice(i * 10, i * 10 + 10), ...(i === 0 ? { webhookUrl } : {}) }),
      });
      expect(res.status).toBe(202);
      const body = await json<{ jobId: string; status: string }>(res);
      expect(body.status).toBe('running');
      expect(res.headers.get('location')).toBe(`/v1/jobs/${body.jobId}`);
      jobIds.push(body.jobId);
    }
    const status = await json<{ status: string }>(await fetch(`${base}/v1/jobs/${jobIds[0]}`, { headers }));
    expect(status.status).toBe('running');
    expect((await fetch(`${base}/v1/jobs/job-00000000-0000-0000-0000-000000000000`, { headers })).status).toBe(404);

    a.child.kill('SIGKILL');
    await a.exited;

    // The job id is the workflow id: the jobs are in Temporal, not in the dead process.
    const connection = await Connection.connect({ address: infra.temporalAddress });
    const described = await new Client({ connection }).workflow.getHandle(jobIds[0]!).describe();
    expect(described.type).toBe('inferenceJob');
    await connection.close();

    const portB = await freePort();
    const b = serve(portB);
    await b.waitFor('inference server listening', 60_000);
    const baseB = `http://127.0.0.1:${portB}`;
    const deadline = Date.now() + 60_000;
    const done = new Map<string, { status: string; result?: { predictions: Array<{ version: number; probability: number }> } }>();
    while (done.size < jobIds.length && Date.now() < deadline) {
      for (const id of jobIds) {
        const s = await json<{ status: string; result?: { predictions: Array<{ version: number; probability: number }> } }>(
          await fetch(`${baseB}/v1/jobs/${id}`, { headers }),
        );
        if (s.status !== 'running') done.set(id, s);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
    expect([...done.values()].map((s) => s.status)).toEqual(['completed', 'completed', 'completed']);
    for (const s of done.values()) {
      expect(s.result!.predictions).toHaveLength(10);
      expect(s.result!.predictions.every((p) => p.version === 1 && p.probability > 0 && p.probability < 1)).toBe(true);
    }
    expect(webhookCalls.map((c) => c.jobId)).toEqual([jobIds[0]]);
    expect(webhookCalls[0]!.result.predictions).toHaveLength(10);
    expect(webhookSignaturesOk).toEqual([true]);
    b.child.kill('SIGTERM');
    await b.exited;
  }, 180_000);

  it('SIGTERM under load: in-flight requests finish, the prediction log is flushed, and the process exits 0', async () => {
    const port = await freePort();
    // A short drain (load-balancer.test covers it): the default 3 s of unthrottled load would
    // spend the key's rate limit, and 429s are not what this test is about.
    const s = serve(port, { FLYWHEEL_SERVE_DRAIN_MS: '300' });
    await s.waitFor('inference server listening', 60_000);
    const url = `http://127.0.0.1:${port}/v1/models/${NAME}/predict`;
    const answered: string[] = [];
    const other: string[] = [];
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await fetch(url, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ instances: [instances[(c + i) % 40]] }),
          });
          const body = await json<{ requestId: string }>(res);
          if (res.status === 200) answered.push(body.requestId);
          else other.push(String(res.status));
        } catch {
          stop = true; // the listener is closed: connection refused
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, (_, c) => client(c)));
    await new Promise((r) => setTimeout(r, 1000));
    s.child.kill('SIGTERM');
    const exit = await s.exited;
    stop = true;
    await load;
    expect(exit.code).toBe(0);
    expect(s.output()).toMatch(/inference server stopped/);
    expect(other, other.join(',')).toEqual(other.filter((status) => status === '503')); // only "closing" on kept-alive sockets
    expect(answered.length).toBeGreaterThan(20);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(DISTINCT request_id)::int AS n FROM prediction_log WHERE request_id = ANY($1::text[])`,
      [answered],
    );
    expect(rows[0]!.n).toBe(answered.length); // every answered request was logged before exit
  }, 120_000);
});
