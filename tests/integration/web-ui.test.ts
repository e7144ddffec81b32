// The Web UI is legible: headless Chromium (Debian's package, driven by playwright-core) opens the
// Temporal Web UI, filters workflows by the FlywheelModel search attribute, and finds the model's
// lifecycle workflow and its cycle. The screenshot is saved under tests/artifacts/.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { dataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { ROOT, spawnWorker, type Spawned } from './processes.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const storeUri = `s3://${infra.s3Bucket}/webui-${tag}`;
let worker: Spawned;
let connection: Connection;
let client: Client;
let browser: Browser;

function chromiumPath(): string {
  const found = () => spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).stdout.trim();
  if (!found()) {
    const res = spawnSync('bash', ['infra/scripts/infra.sh', 'provision', 'chromium'], { cwd: ROOT, stdio: 'inherit' });
    if (res.status !== 0) throw new Error('Chromium is missing and `infra.sh provision chromium` failed');
  }
  return found();
}

beforeAll(async () => {
  worker = spawnWorker('cpu', {
    ...infra.env,
    MLFLOW_TRACKING_URI: '',
    ARTIFACT_STORE: storeUri,
    FLYWHEEL_WORKER_IDENTITY: `webui-${tag}`,
  });
  await worker.waitFor('"worker started"', 90_000);
  connection = await Connection.connect({ address: infra.temporalAddress });
  client = new Client({ connection });
  // Root in a container cannot use Chromium's sandbox.
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
});

describe('Temporal Web UI', () => {
  it('lists the lifecycle and its cycle when filtered by the model search attribute', async () => {
    const store = S3ArtifactStore.create(storeUri, { endpoint: infra.s3Endpoint, forcePathStyle: true });
    const spec = await quickSpec(`webui-${tag}`);
    const event = await sliceEvent(store, await mkdtemp(join(tmpdir(), 'flywheel-webui-')), '2001-01', 12_000);
    const workflowId = WORKFLOW_IDS.modelLifecycle(spec.name);
    await client.workflow.signalWithStart(modelLifecycle, {
      workflowId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [event],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: spec.name }],
    });
    await waitForStatus(client, spec.name, (s) => s.history.length === 1);

    const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    const query = encodeURIComponent(`FlywheelModel="${spec.name}"`);
    const cycleId = WORKFLOW_IDS.modelCycle(spec.name, 1);
    const listed = async () => {
      await page.getByText(workflowId, { exact: true }).first().waitFor({ timeout: 5000 });
      await page.getByText(cycleId, { exact: true }).first().waitFor({ timeout: 5000 });
    };
    // The UI is a single-page app (wait for it to render); visibility is eventually consistent
    // (reload until both rows are listed).
    for (let attempt = 0; ; attempt++) {
      await page.goto(`${infra.temporalUiUrl}/namespaces/default/workflows?query=${query}`, { waitUntil: 'networkidle' });
      try {
        await listed();
        break;
      } catch (err) {
        if (attempt >= 6) throw err;
      }
    }
    const body = await page.locator('body').innerText();
    await mkdir(join(ROOT, 'tests/artifacts'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'tests/artifacts', `web-ui-${spec.name}.png`), fullPage: true });
    expect(body).toContain(workflowId);
    expect(body).toContain(cycleId);
    expect(body).toContain('modelLifecycle');
    expect(body).toContain('modelCycle');
    expect(body).not.toContain('lc-auto-'); // the filter hides other models
    await client.workflow.getHandle(workflowId).terminate('test done');
  }, 180_000);
});
