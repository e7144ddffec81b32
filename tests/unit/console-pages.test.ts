// The console's model, run, compare and artifact pages over a real (embedded) database, registry
// and local store: what a person sees, and what /artifacts refuses to serve.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { putJson } from '../../lib/storage/index.ts';
import { recordRun } from '../../lib/tracking/store.ts';
import { registerVersion, startTestConsole, type TestConsole } from './console-helpers.ts';

let t: TestConsole | undefined;

/** Markup with the formatter's whitespace between and inside tags folded away. */
function flat(body: string): string {
  return body.replace(/\s+/g, ' ').replace(/> </g, '><').replace(/ </g, '<').replace(/> /g, '>');
}
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function trackedRun(c: TestConsole, model: string, n: number, gateReportUri?: string, metricsUri?: string) {
  await recordRun(c.db, {
    runId: `training/train/${model}/ds-${n}/1`,
    model,
    datasetVersion: `ds-${n}`,
    trainer: 'tfjs-mlp',
    status: 'passed',
    params: { epochs: 3, learningRate: 0.01 * n, hidden: [32, 16] },
    metrics: { rocAuc: 0.7 + n / 100 },
    epochs: [1, 2, 3].map((epoch) => ({ epoch, metrics: { loss: 1 / (epoch + n), valLoss: 1.1 / (epoch + n) } })),
    system: null,
    artifacts: {
      ...(gateReportUri ? { gateReport: gateReportUri } : {}),
      ...(metricsUri ? { metrics: metricsUri } : {}),
      validationReport: 'file:///elsewhere/v.json',
    },
    summary: '3/3 gates passed',
    startedAt: null,
  });
}

describe('model page', () => {
  it('shows versions newest first with the task metrics, best marked, alias history, approvals, lineage and Web UI links', async () => {
    t = await startTestConsole({
      workflows: [
        { workflowId: 'model/churn', type: 'modelLifecycle', stage: 'idle', model: 'churn' },
        { workflowId: 'cycle/churn/1', type: 'modelCycle', status: 'COMPLETED', stage: 'promoted', model: 'churn', version: 2 },
      ],
    });
    await registerVersion(t.registry, 'churn', 1);
    await registerVersion(t.registry, 'churn', 2);
    await trackedRun(t, 'churn', 2);
    await t.registry.setAlias('churn', 'champion', 2, { actor: 'ann', reason: 'beats v1 on AUC' });
    await t.registry.recordApproval({ model: 'churn', version: 2, decision: 'approved', actor: 'bob', reason: 'looks good' });
    const res = await t.console.app.inject({ url: '/models/churn' });
    expect(res.statusCode).toBe(200);
    const body = flat(res.body);
    expect(body.indexOf('id="v2"')).toBeLessThan(body.indexOf('id="v1"'));
    expect(body).toContain('ROC AUC');
    expect(body).toContain('PR AUC');
    expect(body).not.toContain('RMSE');
    expect(body).toMatch(/class="num best">0\.7200/);
    expect(body).toContain('beats v1 on AUC');
    expect(body).toContain('(none) → v2');
    expect(body).toContain('looks good');
    expect(body).toContain('href="/runs/training%2Ftrain%2Fchurn%2Fds-2%2F1"');
    expect(body).toContain('http://127.0.0.1:8233/namespaces/default/workflows/train%2Fchurn%2Fds-2%2F1');
    expect(body).toContain('http://127.0.0.1:8233/namespaces/default/workflows/rollout%2Fchurn%2Fv2');
    expect(body).toContain('http://127.0.0.1:8233/namespaces/default/workflows/model%2Fchurn');
    expect(body).toContain('name="versions" value="1"');
  });

  it('chooses regression columns for a regression model and 404s for an unknown model', async () => {
    t = await startTestConsole();
    await registerVersion(t.registry, 'price', 1, { metrics: { rmse: 3.2, mae: 2.1, r2: 0.8 } });
    const res = await t.console.app.inject({ url: '/models/price' });
    expect(res.body).toContain('RMSE');
    expect(res.body).not.toContain('ROC AUC');
    expect((await t.console.app.inject({ url: '/models/nope' })).statusCode).toBe(404);
  });
});

describe('runs and compare', () => {
  it('lists runs and shows one with its learning-curve chart', async () => {
    t = await startTestConsole();
    await registerVersion(t.registry, 'churn', 1);
    await trackedRun(t, 'churn', 1);
    const list = await t.console.app.inject({ url: '/runs' });
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('href="/runs/training%2Ftrain%2Fchurn%2Fds-1%2F1"');
    const page = await t.console.app.inject({ url: '/runs/training%2Ftrain%2Fchurn%2Fds-1%2F1' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<svg');
    expect(page.body).toContain('learningRate');
    expect((await t.console.app.inject({ url: '/runs/nope' })).statusCode).toBe(404);
  });

  it('serves a run whose id holds slashes', async () => {
    t = await startTestConsole();
    await recordRun(t.db, {
      runId: 'training/train/churn/ds-9',
      model: 'churn',
      datasetVersion: 'ds-9',
      trainer: 'tfjs-mlp',
      status: 'failed',
      params: {},
      metrics: {},
      epochs: [],
      system: null,
      artifacts: {},
      summary: 'minAuc failed',
      startedAt: null,
    });
    const res = await t.console.app.inject({ url: `/runs/${encodeURIComponent('training/train/churn/ds-9')}` });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('minAuc failed');
  });

  it('compares versions: metrics with the best marked, gates, slices, parameter differences and curves', async () => {
    t = await startTestConsole();
    const uris: string[] = [];
    for (const n of [1, 2]) {
      const gates = await putJson(t.store, `training/churn/${n}/evaluation/gates.json`, {
        passed: n === 2,
        summary: 's',
        gates: [{ name: 'minAuc', passed: n === 2, skipped: false, observed: 0.6 + n / 10, limit: 0.75, message: 'm' }],
      });
      const metrics = await putJson(t.store, `training/churn/${n}/evaluation/metrics.json`, {
        task: 'binary',
        candidate: { metrics: { slices: { origin: [{ slice: 'ORD', rows: 10, positives: 3, auc: 0.6 + n / 10, logLoss: 0.4 }] } } },
      });
      await registerVersion(t.registry, 'churn', n, { gateReportUri: gates.uri });
      await trackedRun(t, 'churn', n, gates.uri, metrics.uri);
      uris.push(gates.uri);
    }
    const res = await t.console.app.inject({ url: '/compare?model=churn&versions=1&versions=2' });
    expect(res.statusCode).toBe(200);
    const body = flat(res.body);
    expect(body).toMatch(/<tr><th>rocAuc<\/th><td class="num ">0\.7100<\/td><td class="num best">0\.7200<\/td><\/tr>/);
    expect(body).toMatch(/<tr><th>logLoss<\/th><td class="num ">0\.4900<\/td><td class="num best">0\.4800<\/td>/);
    expect(body).toContain('minAuc');
    expect(body).toContain('badge bad">failed');
    expect(body).toContain('origin=ORD');
    expect(body).toContain('<strong>learningRate</strong>');
    expect(body).toContain('<svg');
    const missing = await t.console.app.inject({ url: '/compare?model=churn&versions=1,7' });
    expect(missing.statusCode).toBe(404);
  });
});

describe('/artifacts', () => {
  it('serves a report of the local store, sandboxed, and refuses URIs outside the store or with ..', async () => {
    t = await startTestConsole();
    const info = await t.store.put('training/churn/1/evaluation/report.html', '<h1>report</h1><script>alert(1)</script>', {
      contentType: 'text/html',
    });
    const ok = await t.console.app.inject({ url: `/artifacts?uri=${encodeURIComponent(info.uri)}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toContain('text/html');
    expect(ok.headers['content-security-policy']).toContain('sandbox');
    expect(ok.body).toContain('<h1>report</h1>');

    await writeFile(join(t.dir, 'secret.txt'), 'top secret');
    const outside = await t.console.app.inject({ url: `/artifacts?uri=${encodeURIComponent(`file://${join(t.dir, 'secret.txt')}`)}` });
    expect(outside.statusCode).toBe(403);
    const dotdot = await t.console.app.inject({ url: `/artifacts?uri=${encodeURIComponent(`${t.store.baseUri}/../secret.txt`)}` });
    expect(dotdot.statusCode).toBe(403);
    expect(dotdot.body).not.toContain('top secret');
    const encoded = await t.console.app.inject({ url: `/artifacts?uri=${encodeURIComponent(`${t.store.baseUri}/%2e%2e/secret.txt`)}` });
    expect([403, 404]).toContain(encoded.statusCode);
    expect(encoded.body).not.toContain('top secret');
    expect((await t.console.app.inject({ url: `/artifacts?uri=${encodeURIComponent(`${t.store.baseUri}/none.json`)}` })).statusCode).toBe(
      404,
    );
  });

  it('links artifacts of an S3 store with presigned GET URLs, and /artifacts serves none of it', async () => {
    const { openDatabase } = await import('../../lib/db/index.ts');
    const { S3Client } = await import('@aws-sdk/client-s3');
    const { S3ArtifactStore } = await import('../../lib/storage/index.ts');
    const { silentLogger } = await import('../../lib/log.ts');
    const { BuiltinRegistry } = await import('../../lib/registry/index.ts');
    const { createConsoleServer } = await import('../../console/server.ts');
    const { stubTemporal } = await import('./console-helpers.ts');
    const { db } = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
    const s3 = { endpoint: 'http://127.0.0.1:9', forcePathStyle: true, region: 'us-east-1' };
    const client = new S3Client({ ...s3, credentials: { accessKeyId: 'test', secretAccessKey: 'test-secret' } });
    const store = S3ArtifactStore.create('s3://reports/env', { ...s3, client });
    const server = createConsoleServer({
      deps: {
        db,
        registry: new BuiltinRegistry(db),
        store,
        temporal: stubTemporal([]),
        namespace: 'default',
        logger: silentLogger(),
        s3: { ...s3, client },
      },
    });
    try {
      const link = await server.ctx.artifactLink('s3://reports/env/training/x/evaluation/report.html');
      const url = new URL(link!);
      expect(url.origin).toBe('http://127.0.0.1:9');
      expect(url.pathname).toBe('/reports/env/training/x/evaluation/report.html');
      expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
      expect(url.searchParams.get('response-content-type')).toBe('text/html; charset=utf-8');
      expect(await server.ctx.artifactLink('s3://other-bucket/x.html')).toBeUndefined();
      const served = await server.app.inject({ url: `/artifacts?uri=${encodeURIComponent('s3://reports/env/a.json')}` });
      expect(served.statusCode).toBe(404);
    } finally {
      await server.close();
      await db.close();
    }
  });

  it('links artifacts of the store through /artifacts and leaves others unlinked', async () => {
    t = await startTestConsole();
    expect(await t.console.ctx.artifactLink(`${t.store.baseUri}/a/b.json`)).toBe(
      `/artifacts?uri=${encodeURIComponent(`${t.store.baseUri}/a/b.json`)}`,
    );
    expect(await t.console.ctx.artifactLink('s3://other/x.json')).toBeUndefined();
  });
});
