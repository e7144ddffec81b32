// The console in headless Chromium against the real servers (Temporal dev server, PostgreSQL, the
// S3 store) with a CPU worker process and an in-process inference server: it lists a model trained
// here and shows its lineage; approving the pending version in the browser promotes it (the
// lifecycle's history holds the `approve` Update from `console:<key>`), and a blank reason is
// refused with the refusal shown; pausing a rollout in the browser pauses it; the drift page
// charts the monitor's real checks (one asked for with the page's "Check now"). Each page's
// screenshot is saved as tests/artifacts/console-<page>.png (the README shows them).
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleServer, type ConsoleServer } from '../../console/server.ts';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { checkNowSignal, driftMonitorStatusQuery, type DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import { dataArrivedSignal, statusQuery, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';
import { rolloutStatusQuery } from '../../lib/contracts/rollout.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { referenceProfileKey } from '../../lib/monitor/check.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { putJson, S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { getRun, listChecks } from '../../lib/tracking/store.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { driftMonitor } from '../../workflows/drift-monitor.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { rollout } from '../../workflows/rollout.ts';
import { registerFixtureModel } from '../fixtures/fixture-models.ts';
import { drifted, januaryTraffic } from '../unit/helpers/drift-traffic.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { pollUntil, predictAll, quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/console-${tag}`;
const s3 = { endpoint: infra.s3Endpoint, forcePathStyle: true };
const store = S3ArtifactStore.create(storeUri, s3);
const logger = createLogger({ level: 'silent' });
const APPROVE = `console-approve-${tag}`;
const ROLL = `console-roll-${tag}`;
const DRIFT = `console-drift-${tag}`;
const ARTIFACTS = join(ROOT, 'tests/artifacts');
const started: string[] = [];
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let worker: Spawned;
let connection: Connection;
let client: Client;
let server: InferenceServer;
let consoleServer: ConsoleServer;
let consoleUrl: string;
let browser: Browser;
let page: Page;
let key: string;
let keyName: string;
let servingUrl: string;
let control: Awaited<ReturnType<typeof januaryTraffic>>['control'];

function chromiumPath(): string {
  const found = () =>
    process.env.FLYWHEEL_CHROMIUM_PATH ||
    spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim();
  if (!found()) {
    const res = spawnSync('bash', ['infra/scripts/infra.sh', 'provision', 'chromium'], { cwd: ROOT, stdio: 'inherit' });
    if (res.status !== 0) throw new Error('Chromium is missing and `infra.sh provision chromium` failed');
  }
  return found();
}

/** The whole page, or (`fullPage: false`) what a 1400×900 window shows: the models list on the
 * shared servers holds every other test's models too. */
async function shot(name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage });
}

/** The answer to the next POST the page sends to a path ending in `suffix`. */
function posted(suffix: string) {
  return page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(suffix), { timeout: 15_000 });
}

/** Opens a console page, reloading until `ready` holds (visibility and the worker lag a little). */
async function open(path: string, ready: (body: string) => boolean, timeoutMs = 30_000): Promise<string> {
  return pollUntil(
    `${path} to show what the test waits for`,
    async () => {
      const res = await page.goto(`${consoleUrl}${path}`, { waitUntil: 'load' });
      if (!res || res.status() !== 200) throw new Error(`${path}: ${res?.status()}`);
      return page.content();
    },
    ready,
    timeoutMs,
  );
}

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  registry = new BuiltinRegistry(db);
  keyName = `console-${tag}`;
  key = (await createApiKey(db, { name: keyName, scopes: ['predict', 'feedback', 'admin'] })).key;
  // The rollout's and the monitor's served models: fixture versions (the trained model is the approval's).
  const traffic = await januaryTraffic(20_000, 600);
  await registerFixtureModel({ registry, store, name: ROLL, spec: traffic.fitted, alias: 'champion' });
  await registerFixtureModel({ registry, store, name: ROLL, spec: traffic.fitted, variant: 'challenger' });
  await registerFixtureModel({ registry, store, name: DRIFT, spec: traffic.fitted, alias: 'champion' });
  // The fixture versions' lineage names dataset version `fixture`: its profile is the monitor's reference.
  await putJson(store, referenceProfileKey('flights', 'fixture'), traffic.reference);
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: `${ROLL},${DRIFT}`,
    FLYWHEEL_SERVE_REFRESH_MS: '1000',
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger });
  servingUrl = await server.start();
  control = traffic.control;
  await predictAll(servingUrl, key, DRIFT, drifted(traffic.control));

  worker = spawnWorker('cpu', {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_WORKER_IDENTITY: `console-${tag}`,
    FLYWHEEL_SERVING_URL: servingUrl,
    FLYWHEEL_SERVING_ADMIN_KEY: key,
  });
  await worker.waitFor('"worker started"', 90_000);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });

  // The model trained here waits for a person's approval.
  const spec = await quickSpec(APPROVE, { approval: { mode: 'manual', timeout: '1h', default: 'reject' } });
  const event = await sliceEvent(store, await mkdtemp(join(tmpdir(), 'flywheel-console-')), '2001-01', 12_000);
  started.push(WORKFLOW_IDS.modelLifecycle(APPROVE), WORKFLOW_IDS.driftMonitor(APPROVE));
  await client.workflow.signalWithStart(modelLifecycle, {
    workflowId: WORKFLOW_IDS.modelLifecycle(APPROVE),
    taskQueue: TASK_QUEUES.cpu,
    args: [spec],
    signal: dataArrivedSignal,
    signalArgs: [event],
    typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: APPROVE }],
  });

  consoleServer = createConsoleServer({
    deps: { registry, db, store, temporal: client, namespace: 'default', webUiUrl: infra.temporalUiUrl, logger, s3 },
    settings: { port: 0 },
  });
  consoleUrl = await consoleServer.start();
  await mkdir(ARTIFACTS, { recursive: true });
  // Root in a container cannot use Chromium's sandbox.
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
}, 240_000);

afterAll(async () => {
  for (const id of started)
    await client?.workflow
      .getHandle(id)
      .terminate('test done')
      .catch(() => undefined);
  await browser?.close();
  await consoleServer?.close();
  await server?.stop().catch(() => undefined);
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  await db?.close();
  store.dispose();
});

describe('console in a browser', () => {
  it('signs in with an admin key', async () => {
    await page.goto(`${consoleUrl}/login`);
    await page.fill('input[name=key]', key);
    await Promise.all([page.waitForURL(`${consoleUrl}/`), page.click('button[type=submit]')]);
    expect(await page.locator('header').innerText()).toContain(keyName);
  });

  it('pausing a rollout from the rollout page pauses it', async () => {
    const workflowId = WORKFLOW_IDS.rollout(ROLL, 2);
    const plan: ModelSpec['rollout'] = (
      await quickSpec('plan', {
        rollout: { steps: [{ weight: 20, hold: '60s' }], analysis: { interval: '2s', minSamples: 30, maxExtension: '60s' } },
      })
    ).rollout;
    started.push(workflowId);
    const handle = await client.workflow.start(rollout, {
      workflowId,
      taskQueue: TASK_QUEUES.cpu,
      args: [{ model: ROLL, challenger: 2, plan, approvedBy: 'test', reason: 'console test' }],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: ROLL }],
    });
    await pollUntil(
      'the step holding',
      () => handle.query(rolloutStatusQuery),
      (s) => s.state === 'running',
    );
    // Live traffic while the canary holds, so its analyses have both arms to show.
    await predictAll(servingUrl, key, ROLL, control.slice(0, 300));
    await pollUntil(
      'an analysis',
      () => handle.query(rolloutStatusQuery),
      (s) => (s.checks ?? 0) >= 1,
      20_000,
    );
    // No ?version: the page finds the newest rollout of the model in visibility.
    const body = await open(`/models/${ROLL}/rollout`, (b) => b.includes('data-state="running"'));
    expect(body).toContain('1 of 1');
    expect(body).toContain('20%');
    expect(body).toContain('<svg');
    expect(body).toContain('<table class="analyses">');
    await shot('rollout');
    // The model page's link to one version's rollout shows the same.
    expect(await open(`/models/${ROLL}/rollouts/2`, (b) => b.includes('data-state="running"'))).toContain('<table class="analyses">');

    const form = page.locator('form.action-pause');
    await form.locator('input[name=reason]').fill('checking the dashboards');
    await form.locator('button[type=submit]').click();
    await page.locator('[data-state="paused"]').waitFor({ timeout: 15_000 });
    const status = await handle.query(rolloutStatusQuery);
    expect(status.state).toBe('paused');
    expect(status.pausedBy).toBe(`console:${keyName}: checking the dashboards`);
    expect(await page.locator('body').innerText()).toContain(`console:${keyName}: checking the dashboards`);
    await shot('rollout-paused');

    // Abort from the page: the rollout rolls back with the console's actor and reason; asked again,
    // a finished rollout is not running any more: 404 with that said, not a server error.
    const abort = page.locator('form.action-abort');
    await abort.locator('input[name=reason]').fill('wrong build');
    await abort.locator('button[type=submit]').click();
    expect(await handle.result()).toMatchObject({ outcome: 'rolled-back', reason: `aborted by console:${keyName}: wrong build` });
    const again = await page.evaluate(async (url) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'again' }),
      });
      return { status: res.status, body: (await res.json()) as { error: string } };
    }, `${consoleUrl}/api/models/${ROLL}/rollouts/2/abort`);
    expect(again).toEqual({ status: 404, body: { error: `rollout/${ROLL}/v2 is not running (it finished, or never started)` } });
  }, 60_000);

  it("the drift page charts the monitor's checks, one of them asked for with its Check now button", async () => {
    const monitorId = WORKFLOW_IDS.driftMonitor(DRIFT);
    const monitor = (
      await quickSpec(DRIFT, {
        monitor: {
          interval: '1h',
          window: '15m',
          minSamples: 300,
          breachesToAlert: 10,
          drift: { features: ['hour', 'day_of_week', 'distance', 'origin'] },
        },
      })
    ).monitor;
    started.push(monitorId);
    const handle = await client.workflow.start(driftMonitor, {
      workflowId: monitorId,
      taskQueue: TASK_QUEUES.cpu,
      args: [{ model: DRIFT, dataset: 'flights', monitor, lifecycleWorkflowId: WORKFLOW_IDS.modelLifecycle(DRIFT) }],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: DRIFT }],
    });
    const recorded = new Set<string>();
    /** Waits for the check after `before` and stores it. Another test file's CPU worker on the
     * shared queue may take a check without this file's reference profile: that check judges
     * nothing and is not counted. */
    const nextCheck = async (before: number): Promise<DriftMonitorStatus> => {
      const s = await pollUntil(
        `check ${before + 1} of ${DRIFT}`,
        () => handle.query(driftMonitorStatusQuery),
        (q) => q.state.checks > before && q.phase === 'waiting',
      );
      const last = s.state.lastCheck;
      if (last && last.checkId.endsWith(`-${s.state.checks}`) && (last.status === 'breach' || last.status === 'ok')) {
        // The check activity itself keeps each check (monitor_checks), before it returns.
        const stored = await listChecks(db, DRIFT);
        expect(stored.map((c) => c.checkId)).toContain(last.checkId);
        recorded.add(last.checkId);
      }
      return s;
    };
    // The first check from the console's own button.
    let body = await open(`/models/${DRIFT}/drift`, (b) => b.includes('action-check-now'));
    const before = (await handle.query(driftMonitorStatusQuery)).state.checks;
    const [asked] = await Promise.all([posted('/monitor/check-now'), page.locator('form.action-check-now button').click()]);
    expect(asked.status()).toBe(200);
    let status = await nextCheck(before);
    for (let attempt = 0; recorded.size < 3 && attempt < 10; attempt++) {
      await handle.signal(checkNowSignal, { reason: 'console test' });
      status = await nextCheck(status.state.checks);
    }
    expect(recorded.size).toBe(3);
    expect(status.state.lastCheck?.status).toBe('breach');

    body = await open(`/models/${DRIFT}/drift`, (b) => b.includes(`Checks over time (${recorded.size})`));
    expect(body.match(/<svg/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
    for (const id of recorded) expect(body).toContain(`/${id}/drift.html`);
    expect(body).toContain('Drifted feature share');
    expect(body).toMatch(/distance|hour/);
    // Each check's drift.html is linked through a presigned URL on the S3 store.
    expect(body).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/[^"]*drift\.html\?[^"]*X-Amz-Signature/);
    await shot('drift');
  }, 90_000);

  it('lists the model trained here, and its page shows the lineage', async () => {
    const status: LifecycleStatus = await waitForStatus(client, APPROVE, (s) => s.pendingApproval !== null, 150_000);
    const version = status.pendingApproval!.version;
    const registered = await registry.getVersion(APPROVE, version);
    const list = await open('/', (b) => b.includes(APPROVE));
    expect(list).toContain(ROLL);
    await shot('models', false);

    const body = await open(`/models/${APPROVE}`, (b) => b.includes(APPROVE));
    expect(body).toContain(registered.lineage.datasetVersion);
    expect(body).toContain(registered.runId);
    expect(body).toContain(`v${version}`);
    // dataset → validation report → run → version: the validation report is linked (presigned).
    expect(body).toMatch(/<a href="http:\/\/127\.0\.0\.1:\d+\/[^"]*X-Amz-Signature[^"]*"[^>]*>validation report<\/a>/);
    // The pending approval's form is on the model page too, and (signed in) the lifecycle's
    // pause and retire forms, from its status Query's desired state (active).
    expect(body).toContain(`approval-${APPROVE}`);
    expect(body).toContain('class="action-paused"');
    expect(body).toContain('class="action-retired"');
    await shot('model');

    const compared = await open(`/compare?model=${ROLL}&versions=1,2`, (b) => b.includes(`/models/${ROLL}#v2`));
    expect(compared).toContain(`/models/${ROLL}#v1`);
    await shot('compare');
    // The evaluation recorded the training run: its page shows the parameters and the learning curve.
    const run = await getRun(db, registered.runId);
    expect(run).toMatchObject({ model: APPROVE, status: 'passed', version });
    expect(run!.epochs.length).toBeGreaterThan(0);
    const runPage = await open(`/runs/${encodeURIComponent(registered.runId)}`, (b) => b.includes(registered.runId));
    expect(runPage).toContain(APPROVE);
    expect(runPage).toContain('<svg');
    await shot('run');
  }, 180_000);

  it('approving in the browser promotes the version; a blank reason is refused with the reason shown', async () => {
    const status = await waitForStatus(client, APPROVE, (s) => s.pendingApproval !== null);
    const version = status.pendingApproval!.version;
    await open('/approvals', (b) => b.includes(`approval-${APPROVE}`));
    const section = page.locator(`section#approval-${APPROVE}`);

    await section.locator('form.action-approve button[type=submit]').click();
    const refusal = section.locator('form.action-approve [role=alert]');
    await refusal.filter({ hasText: /./ }).waitFor({ timeout: 10_000 });
    expect(await refusal.innerText()).toBe('a reason is required');
    await shot('approvals');
    expect(await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(APPROVE)).query(statusQuery)).toMatchObject({
      pendingApproval: { version },
    });

    await section.locator('form.action-approve input[name=reason]').fill('metrics hold up in the console');
    // The form reloads the page right after a success: the answer is read off the wire.
    const [approved] = await Promise.all([posted('/approve'), section.locator('form.action-approve button[type=submit]').click()]);
    expect({ status: approved.status(), body: await approved.json() }).toMatchObject({
      status: 200,
      body: { message: `v${version} approved` },
    });
    await pollUntil(
      'the champion',
      () => registry.getAlias(APPROVE, 'champion'),
      (v) => v.version === version,
      60_000,
    );

    // The lifecycle's history holds the Update, accepted and completed, with the console's actor.
    const history = await client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(APPROVE)).fetchHistory();
    const accepted = (history.events ?? []).filter(
      (e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'approve',
    );
    expect(accepted).toHaveLength(1);
    const args = accepted[0]!.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads!;
    expect(defaultPayloadConverter.fromPayload(args[0]!)).toEqual({
      actor: `console:${keyName}`,
      reason: 'metrics hold up in the console',
    });
    const updateId = accepted[0]!.workflowExecutionUpdateAcceptedEventAttributes!.protocolInstanceId;
    expect((history.events ?? []).some((e) => e.workflowExecutionUpdateCompletedEventAttributes?.meta?.updateId === updateId)).toBe(true);

    // Asked again, the lifecycle's validator refuses (nothing pending), and the page says why.
    const again = await page.evaluate(async (url) => {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'twice' }),
      });
      return { status: res.status, body: (await res.json()) as { error: string } };
    }, `${consoleUrl}/api/models/${APPROVE}/approve`);
    expect(again.status).toBe(409);
    expect(again.body.error).toMatch(/pending|approval/i);

    const after = await open(`/models/${APPROVE}`, (b) => b.includes(APPROVE));
    expect(after).toMatch(/champion/i);
  }, 120_000);
});
