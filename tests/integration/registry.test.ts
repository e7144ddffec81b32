// The registry contract against the real servers: the built-in registry on PostgreSQL, and the
// MLflow registry on the MLflow 3 server (alias history and approvals in PostgreSQL). Plus what
// only MLflow can get wrong: it is down, it rejects a request, and its own Python client must
// read what Flywheel registered.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry, MlflowError, MlflowRegistry, MlflowUnavailableError } from '../../lib/registry/index.ts';
import { describeRegistryContract } from '../contract/registry.contract.ts';
import { getInfra } from './infra.ts';
import { freePort } from './processes.ts';

const infra = getInfra();
const dbName = `flywheel_registry_${randomBytes(4).toString('hex')}`;
let db: PostgresDatabase;

beforeAll(async () => {
  const admin = new pg.Client({ connectionString: infra.databaseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const url = new URL(infra.databaseUrl);
  url.pathname = `/${dbName}`;
  db = await PostgresDatabase.create(url.toString());
  await migrate(db);
});

afterAll(async () => {
  await db?.close();
  const admin = new pg.Client({ connectionString: infra.databaseUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
});

describeRegistryContract('built-in on PostgreSQL', async () => new BuiltinRegistry(db));
describeRegistryContract('MLflow', async () => new MlflowRegistry({ trackingUri: infra.mlflowUri, db }));

describe('MLflow registry specifics', () => {
  it("is readable by MLflow's own Python client", async () => {
    if (!infra.mlflowPython) throw new Error('the provisioned MLflow venv python is missing (infra.sh env prints FLYWHEEL_MLFLOW_PYTHON)');
    const registry = new MlflowRegistry({ trackingUri: infra.mlflowUri, db });
    const model = `flights-py-${randomUUID().slice(0, 8)}`;
    const v = await registry.createVersion({
      model,
      runId: 'py-run',
      artifactUri: 's3://flywheel/training/py-run/model.onnx',
      lineage: { datasetVersion: 'v-1', featureSpecHash: 'f'.repeat(64), params: {} },
    });
    await registry.setAlias(model, 'champion', v.version, { actor: 'test', reason: 'python check' });
    const script = [
      'import json, sys',
      'from mlflow import MlflowClient',
      `mv = MlflowClient(tracking_uri=${JSON.stringify(infra.mlflowUri)}).get_model_version_by_alias(${JSON.stringify(model)}, "champion")`,
      'print(json.dumps({"version": mv.version, "source": mv.source, "aliases": list(mv.aliases), "run": mv.tags.get("flywheel.run_id")}))',
    ].join('\n');
    const res = spawnSync(infra.mlflowPython, ['-c', script], { encoding: 'utf8', timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout.trim().split('\n').at(-1)!)).toEqual({
      version: String(v.version),
      source: 's3://flywheel/training/py-run/model.onnx',
      aliases: ['champion'],
      run: 'py-run',
    });
  }, 90_000);

  it('surfaces MLflow error responses with their message', async () => {
    const registry = new MlflowRegistry({ trackingUri: infra.mlflowUri, db });
    const model = `flights-err-${randomUUID().slice(0, 8)}`;
    await registry.createVersion({
      model,
      runId: 'r',
      artifactUri: 's3://flywheel/x/model.onnx',
      lineage: { datasetVersion: 'v', featureSpecHash: 'h', params: {} },
    });
    const err = await registry.setAlias(model, 'not a valid alias!', 1, { actor: 't', reason: 'r' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowError);
    expect((err as MlflowError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect((err as MlflowError).message).toMatch(/alias/i);
    // A failed move leaves no history entry behind.
    expect(await registry.aliasHistory(model)).toEqual([]);
  });

  it('retries when MLflow is down, then fails with a clear error', async () => {
    const port = await freePort();
    const registry = new MlflowRegistry({ trackingUri: `http://127.0.0.1:${port}`, db, attempts: 3, backoffMs: 20 });
    const started = Date.now();
    const err = await registry.getModel('anything').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MlflowUnavailableError);
    expect((err as Error).message).toContain(
      `MLflow at http://127.0.0.1:${port} did not answer GET registered-models/get after 3 attempts`,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(60); // 20 + 40 ms of backoff
  });
});
