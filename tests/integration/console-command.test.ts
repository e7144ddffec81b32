// `flywheel console` as users run it, against the real PostgreSQL (a schema of its own), S3 store
// and Temporal dev server: it starts, lists a model registered beside it with Temporal reachable,
// signs an admin in, and stops on SIGTERM.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { Secret } from '../../lib/config/index.ts';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { getInfra } from './infra.ts';
import { freePort, spawnNode, type Spawned } from './processes.ts';

const schema = `console_cmd_${randomBytes(3).toString('hex')}`;
let db: Database | undefined;
let consoleProcess: Spawned | undefined;

afterAll(async () => {
  consoleProcess?.child.kill('SIGKILL');
  await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
  await db?.close();
});

describe('flywheel console', () => {
  it('serves the models of its database with Temporal reachable, signs an admin in, and stops on SIGTERM', async () => {
    const infra = getInfra();
    const port = await freePort();
    consoleProcess = spawnNode(['bin/flywheel.js', 'console', '--port', String(port)], {
      ...infra.env,
      FLYWHEEL_DB_SCHEMA: schema,
      // The built-in registry in that schema (empty counts as unset), not the shared MLflow server.
      MLFLOW_TRACKING_URI: '',
      TEMPORAL_WEB_UI_URL: infra.temporalUiUrl,
      FLYWHEEL_LOG_LEVEL: 'warn',
    });
    await consoleProcess.waitFor(`Flywheel console: http://127.0.0.1:${port}`, 30_000);
    const url = `http://127.0.0.1:${port}`;

    // The console migrated the schema; register a model beside it, the way a cycle would.
    db = (await openDatabase({ kind: 'postgres', url: new Secret(infra.databaseUrl), schema }, { migrate: false })).db;
    const registry = new BuiltinRegistry(db);
    await registry.createVersion({
      model: 'console-cmd',
      artifactUri: 's3://flywheel/models/console-cmd/v1/model.onnx',
      runId: 'console-cmd-run-1',
      lineage: { datasetVersion: 'ds-1', featureSpecHash: 'f'.repeat(16), params: {} },
      metrics: { rocAuc: 0.71 },
    });

    const list = await fetch(url + '/');
    expect(list.status).toBe(200);
    const body = await list.text();
    expect(body).toContain('data-model="console-cmd"');
    expect(body).not.toContain('Temporal unreachable');
    expect(body).toContain(`${infra.temporalUiUrl}/namespaces/default/workflows`);
    expect((await fetch(url + '/readyz')).status).toBe(200);

    const admin = await createApiKey(db, { name: 'console-cmd-test', scopes: ['admin'] });
    const login = await fetch(url + '/login', {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: admin.key, next: '/models/console-cmd' }),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(url + '/models/console-cmd', { headers: { cookie } });
    expect(await page.text()).toContain('signed in as <strong>console-cmd-test</strong>');

    consoleProcess.child.kill('SIGTERM');
    expect((await consoleProcess.exited).code).toBe(0);
    expect(consoleProcess.output()).toContain('Stopping…');
  }, 60_000);
});
