// Proves the provisioned servers that later features rely on: MLflow answers its REST API and
// stores artifacts in the S3 store; the S3 store round-trips bytes.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);

describe('provisioned servers', () => {
  it('MLflow is healthy', async () => {
    const res = await fetch(`${infra.mlflowUri}/health`);
    expect(res.status).toBe(200);
    expect((await res.text()).trim()).toBe('OK');
  });

  it('MLflow serves the model-registry REST API', async () => {
    const name = `flywheel-harness-${randomUUID().slice(0, 8)}`;
    const created = await fetch(`${infra.mlflowUri}/api/2.0/mlflow/registered-models/create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, description: 'created by the Flywheel test harness' }),
    });
    expect(created.status, await created.clone().text()).toBe(200);
    const got = await fetch(`${infra.mlflowUri}/api/2.0/mlflow/registered-models/get?name=${encodeURIComponent(name)}`);
    const body = (await got.json()) as { registered_model: { name: string; description: string } };
    expect(body.registered_model).toMatchObject({ name, description: 'created by the Flywheel test harness' });
  });

  it('MLflow keeps its artifacts in the S3 store', async () => {
    const path = `harness/${randomUUID()}.txt`;
    const put = await fetch(`${infra.mlflowUri}/api/2.0/mlflow-artifacts/artifacts/${path}`, { method: 'PUT', body: 'via mlflow' });
    expect(put.status, await put.clone().text()).toBe(200);
    const bucket = S3ArtifactStore.create(`s3://${infra.mlflowBucket}/artifacts`, {
      endpoint: infra.s3Endpoint,
      forcePathStyle: true,
    });
    try {
      expect((await bucket.get(path)).toString()).toBe('via mlflow');
    } finally {
      bucket.dispose();
    }
  });

  it('the S3 store round-trips an object', async () => {
    const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/harness`, { endpoint: infra.s3Endpoint, forcePathStyle: true });
    try {
      const key = `round-trip/${randomUUID()}.json`;
      const info = await store.put(key, JSON.stringify({ ok: true }));
      expect(JSON.parse((await store.get(key, { verify: true })).toString())).toEqual({ ok: true });
      expect((await store.stat(key))?.sha256).toBe(info.sha256);
      await store.delete(key);
      expect(await store.exists(key)).toBe(false);
    } finally {
      store.dispose();
    }
  });
});
