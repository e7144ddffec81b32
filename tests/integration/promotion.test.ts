// Environments and cross-environment promotion on the real servers: one PostgreSQL database with a
// `staging` and a `prod` schema (each its own migrations and built-in registry), two prefixes on the
// S3 store, and two Temporal namespaces (staging: default; prod: one of its own, with an in-process
// worker for the promotion workflow and its activity). A fixture version registered in staging is
// promoted to prod: its artifacts land with matching SHA-256, the prod version carries lineage back
// to staging, and the champion moves at once (automatic) or after `approve` (manual); a corrupted
// source artifact fails the promotion with nothing registered or copied. A third environment keeps
// its registry in the real MLflow server (its own namespace and schema): a promotion lands there too.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { ensureNamespace } from '../../lib/temporal/ensure-namespace.ts';
import { bundleWorkflowCode, NativeConnection, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromotionActivities } from '../../activities/promotion/index.ts';
import { decidePromotion, runPromotion } from '../../cli/commands/promote.ts';
import { Secret } from '../../lib/config/secret.ts';
import { promotionStatusQuery, promotionWorkflowId } from '../../lib/contracts/promotion.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import { PROMOTED_FROM_TAGS } from '../../lib/promotion/index.ts';
import { BuiltinRegistry, MlflowRegistry, FEATURE_SPEC_TAG, ModelNotFoundError, REPORT_TAG } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { ROOT } from './processes.ts';
import { createPrivateDatabase, withPgClient, type PrivateDatabase } from './private-database.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const NAMESPACE = 'flywheel-it-promotion';
const ML_NAMESPACE = 'flywheel-it-promotion-ml';
const prefix = `promotion-${tag}`;
const storeUri = (env: string) => `s3://${infra.s3Bucket}/${prefix}/${env}`;
const s3 = new S3Client({ region: 'us-east-1', endpoint: infra.s3Endpoint, forcePathStyle: true });
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const logger = createLogger({ level: 'silent' });
const staging = { store: S3ArtifactStore.create(storeUri('staging'), { client: s3 }) };
const prod = { store: S3ArtifactStore.create(storeUri('prod'), { client: s3 }) };
let database: PrivateDatabase;
let stagingDb: Database;
let prodDb: Database;
let mlDb: Database;
let mlRegistry: MlflowRegistry;
let stagingRegistry: BuiltinRegistry;
let prodRegistry: BuiltinRegistry;
let dir: string;
let callerEnv: Record<string, string | undefined>;
let connection: NativeConnection;
let client: Client;
let clientConnection: Connection;
const workers: Worker[] = [];
const running: Promise<void>[] = [];
const lines: string[] = [];
const out = (line: string) => void lines.push(line);

const AUTO = `promo-auto-${tag}`;
const ML = `promo-ml-${tag}`;
const MANUAL = `promo-manual-${tag}`;
const CORRUPT = `promo-corrupt-${tag}`;
const REJECTED = `promo-rejected-${tag}`;
const TIMED_OUT = `promo-timeout-${tag}`;

/** A version as training would leave it: model file, feature spec, reports, all in staging's store. */
async function registerFixture(model: string, runId: string) {
  const base = `models/${model}/${runId}`;
  const modelFile = await staging.store.put(`${base}/model.onnx`, Buffer.from(`fake onnx bytes of ${model} ${runId}`));
  const features = await staging.store.put(`${base}/features.json`, JSON.stringify({ features: ['hour', 'distance'] }));
  const report = await staging.store.put(`${base}/report.json`, JSON.stringify({ auc: 0.71 }));
  const gate = await staging.store.put(`${base}/gate.json`, JSON.stringify({ passed: true }));
  return stagingRegistry.createVersion({
    model,
    runId,
    artifactUri: modelFile.uri,
    gateReportUri: gate.uri,
    lineage: { datasetVersion: `ds-${runId}`, featureSpecHash: 'f'.repeat(16), params: { hidden: [8] } },
    metrics: { auc: 0.71 },
    tags: { [FEATURE_SPEC_TAG]: features.uri, [REPORT_TAG]: report.uri, team: 'search' },
  });
}

const spec = (name: string) => `name: ${name}\ntask: binary\napproval:\n  mode: automatic\n`;

function spawnCli(args: string[]) {
  const child = spawn(process.execPath, ['bin/flywheel.js', ...args], { cwd: ROOT, env: callerEnv as NodeJS.ProcessEnv });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { exited };
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check());) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  database = await createPrivateDatabase(infra.databaseUrl, 'promotion');
  const url = new Secret(database.url);
  stagingDb = (await openDatabase({ kind: 'postgres', url, schema: 'staging' })).db;
  prodDb = (await openDatabase({ kind: 'postgres', url, schema: 'prod' })).db;
  stagingRegistry = new BuiltinRegistry(stagingDb);
  prodRegistry = new BuiltinRegistry(prodDb);
  mlDb = (await openDatabase({ kind: 'postgres', url, schema: 'mlprod' })).db;
  mlRegistry = new MlflowRegistry({ trackingUri: infra.mlflowUri, db: mlDb });

  dir = await mkdtemp(join(tmpdir(), 'flywheel-promotion-'));
  await mkdir(join(dir, 'models'));
  for (const model of [AUTO, ML, MANUAL, CORRUPT, REJECTED, TIMED_OUT]) await writeFile(join(dir, 'models', `${model}.yaml`), spec(model));
  await writeFile(
    join(dir, 'flywheel.yaml'),
    [
      'apiVersion: flywheel/v1',
      'environments:',
      '  staging:',
      '    settings:',
      '      TEMPORAL_NAMESPACE: default',
      '      DATABASE_URL: ${PROMOTION_DATABASE_URL}',
      '      FLYWHEEL_DB_SCHEMA: staging',
      `      ARTIFACT_STORE: ${storeUri('staging')}`,
      '  prod:',
      '    settings:',
      `      TEMPORAL_NAMESPACE: ${NAMESPACE}`,
      '      DATABASE_URL: ${PROMOTION_DATABASE_URL}',
      '      FLYWHEEL_DB_SCHEMA: prod',
      `      ARTIFACT_STORE: ${storeUri('prod')}`,
      '    models:',
      `      ${MANUAL}:`,
      '        patch: { approval: { mode: manual, timeout: 1h } }',
      `      ${REJECTED}:`,
      '        patch: { approval: { mode: manual } }',
      `      ${TIMED_OUT}:`,
      '        patch: { approval: { mode: manual, timeout: 2s, default: reject } }',
      '  mlprod:',
      '    settings:',
      `      TEMPORAL_NAMESPACE: ${ML_NAMESPACE}`,
      '      DATABASE_URL: ${PROMOTION_DATABASE_URL}',
      '      FLYWHEEL_DB_SCHEMA: mlprod',
      `      ARTIFACT_STORE: ${storeUri('mlprod')}`,
      `      MLFLOW_TRACKING_URI: ${infra.mlflowUri}`,
      '',
    ].join('\n'),
  );
  callerEnv = { ...process.env, ...infra.env, MLFLOW_TRACKING_URI: '', PROMOTION_DATABASE_URL: database.url, FLYWHEEL_ACTOR: 'ci' };

  clientConnection = await Connection.connect({ address: infra.temporalAddress });
  await ensureNamespace(clientConnection, NAMESPACE);
  await ensureNamespace(clientConnection, ML_NAMESPACE);
  client = new Client({ connection: clientConnection, namespace: NAMESPACE });
  connection = await NativeConnection.connect({ address: infra.temporalAddress });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: new URL('../../workflows/promote-across-environments.ts', import.meta.url).pathname,
    logger: quiet,
  });
  // Each target environment: the promotion workflow on its CPU queue, its activity on the control queue.
  for (const [namespace, registry] of [
    [NAMESPACE, prodRegistry],
    [ML_NAMESPACE, mlRegistry],
  ] as const)
    workers.push(
      await createWorker({ connection, namespace, taskQueue: TASK_QUEUES.cpu, workflowBundle }),
      await createWorker({
        connection,
        namespace,
        taskQueue: TASK_QUEUES.control,
        activities: createPromotionActivities({ registry, logger }),
      }),
    );
  for (const w of workers) running.push(w.run());
}, 60_000);

afterAll(async () => {
  for (const w of workers) w.shutdown();
  await Promise.allSettled(running);
  await connection?.close();
  await clientConnection?.close();
  await stagingDb?.close();
  await prodDb?.close();
  await mlDb?.close();
  await database?.drop();
  s3.destroy();
});

describe('FLYWHEEL_DB_SCHEMA', () => {
  it('keeps two environments in one database apart: each schema has its own migrations and registry', async () => {
    const v = await registerFixture(`promo-schema-${tag}`, 'run-schema');
    expect(v.version).toBe(1);
    await expect(prodRegistry.getModel(`promo-schema-${tag}`)).rejects.toBeInstanceOf(ModelNotFoundError);
    const tables = await withPgClient(database.url, (c) =>
      c.query<{ table_schema: string }>(
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'flywheel_schema_migrations' ORDER BY 1",
      ),
    );
    expect(tables.rows.map((r) => r.table_schema)).toEqual(['mlprod', 'prod', 'staging']);
    const [s, p] = await Promise.all([
      stagingDb.query<{ n: number }>('SELECT count(*)::int AS n FROM flywheel_schema_migrations'),
      prodDb.query<{ n: number }>('SELECT count(*)::int AS n FROM flywheel_schema_migrations'),
    ]);
    expect(s.rows[0]!.n).toBeGreaterThan(0);
    expect(p.rows[0]!.n).toBe(s.rows[0]!.n);
    // Nothing falls through to public: a table only there is not found from an environment.
    await withPgClient(database.url, (c) => c.query('CREATE TABLE public.only_in_public (x int)'));
    await expect(stagingDb.query('SELECT x FROM only_in_public')).rejects.toThrow(/does not exist/);
  });
});

describe('flywheel promote', () => {
  it('copies the artifacts verified, registers with lineage, and moves the champion at once (automatic)', async () => {
    const source = await registerFixture(AUTO, 'run-a');
    const result = await runPromotion(AUTO, source.version, { dir, from: 'staging', to: 'prod', reason: 'release 1', env: callerEnv, out });
    expect(result?.outcome).toMatchObject({ decision: 'approved', actor: 'ci', timedOut: false });

    const promoted = await prodRegistry.getVersion(AUTO, result!.version);
    expect(promoted.aliases).toContain('champion');
    expect(promoted.tags).toMatchObject({
      [PROMOTED_FROM_TAGS.env]: 'staging',
      [PROMOTED_FROM_TAGS.version]: String(source.version),
      [PROMOTED_FROM_TAGS.runId]: 'run-a',
      [PROMOTED_FROM_TAGS.datasetVersion]: 'ds-run-a',
      team: 'search',
    });
    expect(promoted.lineage).toEqual(source.lineage);
    // Every URI now points into prod's store, at bytes with the source's checksum.
    const uris = [promoted.artifactUri, promoted.gateReportUri!, promoted.tags[FEATURE_SPEC_TAG]!, promoted.tags[REPORT_TAG]!];
    for (const uri of uris) {
      expect(uri.startsWith(`${storeUri('prod')}/`)).toBe(true);
      const key = prod.store.keyFor(uri);
      const [copied, original] = await Promise.all([prod.store.stat(key), staging.store.stat(key)]);
      expect(copied?.sha256).toBeDefined();
      expect(copied?.sha256).toBe(original?.sha256);
    }
    const approvals = await prodRegistry.approvals(AUTO, promoted.version);
    expect(approvals).toMatchObject([{ decision: 'approved', actor: 'ci' }]);

    // A re-run finds its version and its workflow: nothing new.
    const again = await runPromotion(AUTO, source.version, { dir, from: 'staging', to: 'prod', env: callerEnv, out });
    expect(again?.version).toBe(promoted.version);
    expect((await prodRegistry.searchVersions(AUTO)).length).toBe(1);
  }, 30_000);

  it('promotes into an environment whose registry is the real MLflow server, lineage and checksums included', async () => {
    const source = await registerFixture(ML, 'run-ml');
    const result = await runPromotion(ML, source.version, { dir, from: 'staging', to: 'mlprod', reason: 'to MLflow', env: callerEnv, out });
    expect(result?.outcome).toMatchObject({ decision: 'approved', timedOut: false });
    const promoted = await mlRegistry.getVersion(ML, result!.version);
    expect(promoted.aliases).toContain('champion');
    expect(promoted.tags).toMatchObject({
      [PROMOTED_FROM_TAGS.env]: 'staging',
      [PROMOTED_FROM_TAGS.version]: String(source.version),
      [PROMOTED_FROM_TAGS.runId]: 'run-ml',
    });
    expect(promoted.artifactUri.startsWith(`${storeUri('mlprod')}/`)).toBe(true);
    const key = staging.store.keyFor(source.artifactUri);
    const mlStore = S3ArtifactStore.create(storeUri('mlprod'), { client: s3 });
    expect((await mlStore.stat(key))?.sha256).toBe((await staging.store.stat(key))?.sha256);
    // The built-in registries of staging and prod never saw it.
    await expect(prodRegistry.getModel(ML)).rejects.toBeInstanceOf(ModelNotFoundError);
  }, 30_000);

  it('waits for an approval in the target when its spec says manual, then moves the champion', async () => {
    const source = await registerFixture(MANUAL, 'run-m');
    await runPromotion(MANUAL, source.version, { dir, from: 'staging', to: 'prod', noWait: true, env: callerEnv, out });
    const [registered] = await prodRegistry.searchVersions(MANUAL);
    // A waiting promotion someone terminated is asked again by re-running the command, on the same version.
    const first = client.workflow.getHandle(promotionWorkflowId(MANUAL, registered!.version));
    await first.terminate('operator mistake');
    await runPromotion(MANUAL, source.version, { dir, from: 'staging', to: 'prod', noWait: true, env: callerEnv, out });
    expect((await prodRegistry.searchVersions(MANUAL)).map((v) => v.version)).toEqual([registered!.version]);
    const handle = client.workflow.getHandle(promotionWorkflowId(MANUAL, registered!.version));
    expect((await handle.describe()).status.name).toBe('RUNNING');
    const status = await handle.query(promotionStatusQuery);
    expect(status).toMatchObject({ stage: 'awaiting-approval', approval: { mode: 'manual', timeoutMs: 3_600_000, default: 'reject' } });
    expect((await prodRegistry.getModel(MANUAL)).aliases.champion).toBeUndefined();
    const attributes = (await handle.describe()).typedSearchAttributes;
    expect([attributes.get(SEARCH_ATTRIBUTES.model), attributes.get(SEARCH_ATTRIBUTES.stage)]).toEqual([MANUAL, 'awaiting-approval']);

    await expect(
      decidePromotion('approve', MANUAL, registered!.version, { dir, env: 'prod', reason: '   ', callerEnv, out }),
    ).rejects.toThrow('a decision needs a reason');
    await decidePromotion('approve', MANUAL, registered!.version, {
      dir,
      env: 'prod',
      reason: 'checked the report',
      actor: 'alice',
      callerEnv,
      out,
    });
    const result = (await handle.result()) as { outcome: { decision: string; actor: string } };
    expect(result.outcome).toMatchObject({ decision: 'approved', actor: 'alice' });
    expect((await prodRegistry.getModel(MANUAL)).aliases.champion).toBe(registered!.version);
    expect(await prodRegistry.approvals(MANUAL, registered!.version)).toMatchObject([
      { decision: 'approved', actor: 'alice', reason: 'checked the report' },
    ]);
  }, 30_000);

  it('exits 1 when the target rejects (by hand through the CLI, or by the default when nobody decides)', async () => {
    const rejected = await registerFixture(REJECTED, 'run-r');
    const cli = spawnCli(['promote', REJECTED, String(rejected.version), '--from', 'staging', '--to', 'prod', '-f', dir]);
    const handle = client.workflow.getHandle(promotionWorkflowId(REJECTED, 1));
    await waitUntil(async () => (await handle.query(promotionStatusQuery).catch(() => undefined))?.stage === 'awaiting-approval');
    const decided = spawnCli(['promote', 'reject', REJECTED, '1', '--env', 'prod', '-f', dir, '--reason', 'not yet', '--actor', 'bob']);
    expect(await decided.exited).toMatchObject({ code: 0, stdout: expect.stringContaining('rejected by bob (not yet)') });
    const waited = await cli.exited;
    expect(waited.code).toBe(1);
    expect(waited.stdout).toContain('copied models/');
    expect(waited.stdout).toContain('was rejected by bob: not yet');
    expect(waited.stderr).toContain(`promotion of ${REJECTED} v1 to prod was rejected`);
    expect((await prodRegistry.getModel(REJECTED)).aliases.champion).toBeUndefined();

    const late = await registerFixture(TIMED_OUT, 'run-t');
    await expect(runPromotion(TIMED_OUT, late.version, { dir, from: 'staging', to: 'prod', env: callerEnv, out })).rejects.toThrow(
      'was rejected',
    );
    expect(await prodRegistry.approvals(TIMED_OUT, 1)).toMatchObject([{ decision: 'rejected', actor: 'flywheel' }]);
  }, 30_000);

  it('fails on a corrupted source artifact, copying and registering nothing', async () => {
    const source = await registerFixture(CORRUPT, 'run-c');
    const Key = `${prefix}/staging/${staging.store.keyFor(source.artifactUri)}`;
    const head = await s3.send(new HeadObjectCommand({ Bucket: infra.s3Bucket, Key }));
    await s3.send(new PutObjectCommand({ Bucket: infra.s3Bucket, Key, Body: 'tampered', Metadata: head.Metadata ?? {} }));

    await expect(runPromotion(CORRUPT, source.version, { dir, from: 'staging', to: 'prod', env: callerEnv, out })).rejects.toThrow(
      /promotion failed \(ArtifactCorrupt\): .*model\.onnx: checksum mismatch/,
    );
    await expect(prodRegistry.getModel(CORRUPT)).rejects.toBeInstanceOf(ModelNotFoundError);
    const left = [];
    for await (const o of prod.store.list(`models/${CORRUPT}/`)) left.push(o.key);
    expect(left).toEqual([]);
    // A version that does not exist is its own permanent failure.
    await expect(runPromotion(CORRUPT, 99, { dir, from: 'staging', to: 'prod', env: callerEnv, out })).rejects.toThrow(
      /promotion failed \(NotFound\): staging: model .* has no version 99/,
    );
  }, 30_000);
});
