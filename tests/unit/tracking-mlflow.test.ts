// The MLflow run mirror and MLflow authentication, against a small HTTP server in the test that
// answers like MLflow's REST API and records what it was sent. (The real server is exercised by
// tests/integration/tracking.test.ts.)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../lib/config/index.ts';
import { Secret } from '../../lib/config/secret.ts';
import { MlflowClient } from '../../lib/registry/index.ts';
import { MlflowRunMirror, RUN_TAGS } from '../../lib/tracking/index.ts';
import { flattenParams, MLFLOW_LIMITS, mlflowKey, proxiedArtifactPath } from '../../lib/tracking/mlflow-runs.ts';
import type { TrainingRunRecord } from '../../lib/tracking/types.ts';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

let server: Server;
let base: string;
let seen: Seen[];
let experiments: Map<string, string>;
let runs: Array<{ run_id: string; experiment_id: string; tags: Record<string, string> }>;

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

async function read(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void read(req).then((body) => {
      const url = new URL(req.url!, 'http://x');
      seen.push({ method: req.method!, url: url.pathname, authorization: req.headers.authorization, body });
      const api = url.pathname.replace('/api/2.0/mlflow/', '');
      const payload = body ? (JSON.parse(body) as Record<string, unknown>) : {};
      if (url.pathname.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) return json(res, 200, {});
      switch (api) {
        case 'experiments/get-by-name': {
          const id = experiments.get(url.searchParams.get('experiment_name')!);
          return id
            ? json(res, 200, { experiment: { experiment_id: id } })
            : json(res, 404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no such experiment' });
        }
        case 'experiments/create': {
          const id = String(experiments.size + 1);
          experiments.set(payload.name as string, id);
          return json(res, 200, { experiment_id: id });
        }
        case 'runs/search': {
          const wanted = /= '(.*)'$/.exec(payload.filter as string)![1];
          const found = runs.filter((r) => r.tags[RUN_TAGS.runId] === wanted);
          return json(
            res,
            200,
            found.length
              ? {
                  runs: found.map((r) => ({
                    info: {
                      run_id: r.run_id,
                      experiment_id: r.experiment_id,
                      artifact_uri: `mlflow-artifacts:/${r.experiment_id}/${r.run_id}/artifacts`,
                    },
                  })),
                }
              : {},
          );
        }
        case 'runs/create': {
          const run = {
            run_id: `run${runs.length + 1}`,
            experiment_id: payload.experiment_id as string,
            tags: Object.fromEntries((payload.tags as Array<{ key: string; value: string }>).map((t) => [t.key, t.value])),
          };
          runs.push(run);
          return json(res, 200, {
            run: { info: { ...run, artifact_uri: `mlflow-artifacts:/${run.experiment_id}/${run.run_id}/artifacts` } },
          });
        }
        case 'runs/log-batch':
        case 'runs/update':
        case 'runs/set-tag':
          return json(res, 200, {});
        default:
          return json(res, 404, { error_code: 'ENDPOINT_NOT_FOUND', message: api });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen = [];
  experiments = new Map();
  runs = [];
});

const run: TrainingRunRecord = {
  runId: 'training/flights-delay/ds-1/1',
  model: 'flights-delay',
  datasetVersion: 'ds-1',
  trainer: 'tfjs-mlp',
  status: 'failed',
  params: {
    hidden: [16, 8],
    compression: { distill: { temperature: 2 } },
    notes: 'x'.repeat(7000),
    ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, i])),
  },
  metrics: { rocAuc: 0.61 },
  epochs: [
    { epoch: 1, metrics: { loss: 0.6, valLoss: 0.55 } },
    { epoch: 2, metrics: { loss: 0.5, valLoss: 0.52 } },
  ],
  system: {
    identity: 'gpu-1',
    hostname: 'h',
    platform: 'linux',
    arch: 'x64',
    node: 'v20',
    cpus: 2,
    cpuModel: 'c',
    memoryMb: 9,
    backend: 'tfjs-wasm',
    gpus: ['NVIDIA H200'],
  },
  artifacts: { model: 's3://b/model.onnx', gateReport: 's3://b/gates.json' },
  summary: 'rocAuc 0.61 < 0.65',
  version: null,
  mlflowRunId: null,
  startedAt: '2026-11-30T10:00:00.000Z',
  recordedAt: '2026-11-30T10:05:00.000Z',
};

const api = (path: string) => seen.filter((s) => s.url === `/api/2.0/mlflow/${path}`);

describe('MlflowRunMirror', () => {
  it('creates the experiment and one run with params, per-epoch metrics, tags and artifacts, and ends it FAILED', async () => {
    const mirror = new MlflowRunMirror(new MlflowClient({ trackingUri: base, attempts: 1 }));
    const out = await mirror.mirror(run, [{ path: 'evaluation/gates.json', body: '{"passed":false}', contentType: 'application/json' }]);
    expect(out).toEqual({ mlflowRunId: 'run1', experimentId: '1', artifactsUploaded: true });
    expect(JSON.parse(api('experiments/create')[0]!.body)).toMatchObject({ name: 'flywheel/flights-delay' });
    expect(JSON.parse(api('runs/create')[0]!.body)).toMatchObject({ run_name: run.runId, start_time: Date.parse(run.startedAt!) });

    const batches = api('runs/log-batch').map((s) => JSON.parse(s.body) as Record<string, Array<Record<string, unknown>>>);
    for (const b of batches)
      expect((b.params ?? []).length + (b.metrics ?? []).length + (b.tags ?? []).length).toBeLessThanOrEqual(MLFLOW_LIMITS.batch);
    const params = batches.flatMap((b) => b.params ?? []);
    expect(params).toHaveLength(153);
    expect(params).toContainEqual({ key: 'compression.distill.temperature', value: '2' });
    expect(params).toContainEqual({ key: 'hidden', value: '[16,8]' });
    expect((params.find((p) => p.key === 'notes')!.value as string).length).toBe(MLFLOW_LIMITS.paramValue);
    const metrics = batches.flatMap((b) => b.metrics ?? []);
    expect(metrics).toContainEqual({ key: 'valLoss', value: 0.52, step: 2, timestamp: Date.parse(run.startedAt!) });
    expect(metrics).toContainEqual(expect.objectContaining({ key: 'rocAuc', value: 0.61, step: 0 }));
    const tags = Object.fromEntries(batches.flatMap((b) => b.tags ?? []).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({
      [RUN_TAGS.runId]: run.runId,
      [RUN_TAGS.datasetVersion]: 'ds-1',
      [RUN_TAGS.trainer]: 'tfjs-mlp',
      'mlflow.runName': run.runId,
      'flywheel.system.gpus': 'NVIDIA H200',
      'flywheel.system.backend': 'tfjs-wasm',
      'flywheel.artifact.gateReport': 's3://b/gates.json',
    });
    const put = seen.find((s) => s.method === 'PUT')!;
    expect(put.url).toBe('/api/2.0/mlflow-artifacts/artifacts/1/run1/artifacts/evaluation/gates.json');
    expect(put.body).toBe('{"passed":false}');
    expect(JSON.parse(api('runs/update')[0]!.body)).toMatchObject({
      run_id: 'run1',
      status: 'FAILED',
      end_time: Date.parse(run.recordedAt),
    });
  });

  it('finds the run of an earlier attempt instead of creating a second one', async () => {
    const mirror = new MlflowRunMirror(new MlflowClient({ trackingUri: base, attempts: 1 }));
    const first = await mirror.mirror({ ...run, status: 'passed' });
    const second = await mirror.mirror({ ...run, status: 'passed' });
    expect(second.mlflowRunId).toBe(first.mlflowRunId);
    expect(api('runs/create')).toHaveLength(1);
    expect(api('experiments/create')).toHaveLength(1);
    expect(JSON.parse(api('runs/update')[1]!.body)).toMatchObject({ status: 'FINISHED' });
    await mirror.linkVersion(first.mlflowRunId, 4);
    expect(JSON.parse(api('runs/set-tag')[0]!.body)).toEqual({ run_id: first.mlflowRunId, key: RUN_TAGS.version, value: '4' });
  });

  it('reads only the proxied artifact root as uploadable', () => {
    expect(proxiedArtifactPath('mlflow-artifacts:/3/abc/artifacts')).toBe('3/abc/artifacts');
    expect(proxiedArtifactPath('mlflow-artifacts://host:5000/3/abc/artifacts/')).toBe('3/abc/artifacts');
    expect(proxiedArtifactPath('s3://bucket/3/abc/artifacts')).toBeNull();
    expect(flattenParams({ a: {}, b: null })).toEqual([
      { key: 'a', value: '{}' },
      { key: 'b', value: 'null' },
    ]);
  });
});

describe('MLflow authentication', () => {
  it('sends a bearer token on REST calls and artifact uploads', async () => {
    const client = new MlflowClient({ trackingUri: base, attempts: 1, auth: { kind: 'bearer', token: new Secret('tok-123') } });
    await client.call('POST', 'runs/update', { run_id: 'x' });
    await client.putArtifact('1/x/artifacts/a.json', '{}', 'application/json');
    expect(seen.map((s) => s.authorization)).toEqual(['Bearer tok-123', 'Bearer tok-123']);
  });

  it('sends basic auth for a user and password', async () => {
    const client = new MlflowClient({
      trackingUri: base,
      attempts: 1,
      auth: { kind: 'basic', username: 'alice', password: new Secret('pw:1') },
    });
    await client.call('GET', 'experiments/get-by-name', { experiment_name: 'nope' }).catch(() => undefined);
    expect(seen[0]!.authorization).toBe(`Basic ${Buffer.from('alice:pw:1').toString('base64')}`);
  });

  it('sends nothing without credentials', async () => {
    await new MlflowClient({ trackingUri: base, attempts: 1 }).call('POST', 'runs/update', {});
    expect(seen[0]!.authorization).toBeUndefined();
  });

  it('parses MLflow’s own variables once, refusing half a pair or both kinds', () => {
    const bearer = loadConfig('cli', { MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000', MLFLOW_TRACKING_TOKEN: 'tok-secret' }).mlflow;
    expect(bearer.auth?.kind).toBe('bearer');
    expect(JSON.stringify(bearer)).not.toContain('tok-secret');
    const basic = loadConfig('cli', { MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'pw-secret' }).mlflow;
    expect(basic.auth).toMatchObject({ kind: 'basic', username: 'alice' });
    expect(() => loadConfig('cli', { MLFLOW_TRACKING_USERNAME: 'alice' })).toThrow(ConfigError);
    expect(() => loadConfig('cli', { MLFLOW_TRACKING_USERNAME: 'alice' })).toThrow(/MLFLOW_TRACKING_PASSWORD/);
    expect(() => loadConfig('cli', { MLFLOW_TRACKING_PASSWORD: 'pw' })).toThrow(/MLFLOW_TRACKING_USERNAME/);
    expect(() => loadConfig('cli', { MLFLOW_TRACKING_TOKEN: 't', MLFLOW_TRACKING_USERNAME: 'a', MLFLOW_TRACKING_PASSWORD: 'p' })).toThrow(
      /not both/,
    );
  });
});

describe('names MLflow accepts', () => {
  it('replaces what MLflow refuses in a key and keeps the first of two equal keys', () => {
    expect(mlflowKey('learning rate (%)')).toBe('learning rate ___');
    expect(mlflowKey('../../etc')).toBe('_/_/etc');
    expect(mlflowKey('/abs')).toBe('abs');
    expect(mlflowKey('')).toBe('_');
    expect(mlflowKey('ok.key-1/x')).toBe('ok.key-1/x');
    const params = flattenParams({ 'a%': 1, 'a&': 2 });
    expect(params.map((p) => p.key)).toEqual(['a_', 'a_']);
  });
});
