// The whole loop on the real stack: Temporal dev server with the CPU worker as a child process,
// PostgreSQL (registry, prediction log), the S3 store and an inference server. A January
// partition trains v1 (cycle 1, new data); its cycle starts the drift monitor; a February
// partition is recorded without a retrain; the served v1 gets drifted traffic (real January
// flights, three times as far and seven hours later); the monitor breaches twice and signals
// drift; the lifecycle's cycle 2 (trigger kind `drift`) trains on January and February and
// promotes v2, and the champion alias moves to it.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import type { PostgresDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import type { BuiltinRegistry } from '../../lib/registry/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { modelLifecycle } from '../../workflows/model-lifecycle.ts';
import { drifted, januaryTraffic } from '../unit/helpers/drift-traffic.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';
import { LifecycleWorld, pollUntil, predictAll, quickSpec, sliceEvent, waitForStatus } from './lifecycle-helpers.ts';
import { driftMonitorStatusQuery } from '../../lib/contracts/drift-monitor.ts';
import { dataArrivedSignal } from '../../lib/contracts/model-lifecycle.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const world = new LifecycleWorld(infra, 'loop');
const { tag, store } = world;
const MODEL = `loop-${tag}`;
let client: Client;
let db: PostgresDatabase;
let registry: BuiltinRegistry;
let server: InferenceServer | undefined;

beforeAll(async () => {
  ({ db, registry, client } = await world.start());
}, 180_000);

afterAll(async () => {
  await world.terminate([WORKFLOW_IDS.driftMonitor(MODEL), WORKFLOW_IDS.modelLifecycle(MODEL)]);
  await server?.stop().catch(() => undefined);
  await world.stop();
});

describe('drift → retrain → promote', () => {
  it('drifted traffic on the champion makes the monitor signal drift; a drift-triggered cycle trains on the new data and promotes v2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-loop-'));
    const spec = await quickSpec(MODEL, {
      retrain: { onNewData: true, onDrift: true, cooldown: '0s' },
      // Checks every 2 s on the last 10 minutes of traffic; two breaches in a row alert.
      monitor: {
        interval: '2s',
        window: '10m',
        minSamples: 300,
        breachesToAlert: 2,
        clearsToRearm: 2,
        cooldown: '1h',
        drift: { features: ['hour', 'day_of_week', 'distance', 'origin'] },
      },
    });
    const [jan, feb, traffic] = await Promise.all([
      sliceEvent(store, dir, '2001-01', 6000),
      sliceEvent(store, dir, '2001-02', 6000),
      januaryTraffic(0, 600),
    ]);
    const lifecycleId = WORKFLOW_IDS.modelLifecycle(MODEL);
    await client.workflow.signalWithStart(modelLifecycle, {
      workflowId: lifecycleId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [jan],
    });

    const first = await waitForStatus(client, MODEL, (s) => s.history.length >= 1, 120_000);
    expect(first.history[0], JSON.stringify(first.history[0])).toMatchObject({
      cycle: 1,
      stage: 'promoted',
      version: 1,
      triggers: [{ kind: 'new-data' }],
    });
    // Cycle 1 started the monitor; with no traffic yet its checks judge nothing.
    const monitor = client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(MODEL));
    await pollUntil(
      'the monitor checking',
      () => monitor.query(driftMonitorStatusQuery),
      (m) => m.state.checks >= 1,
    );
    await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, { ...feb, retrain: false });

    const key = (await createApiKey(db, { name: `loop-${tag}`, scopes: ['predict', 'feedback'] })).key;
    const settings = loadConfig('serve', {
      FLYWHEEL_SERVE_PORT: '0',
      FLYWHEEL_SERVE_MODELS: MODEL,
      FLYWHEEL_SERVE_REFRESH_MS: '600000',
    }).serve;
    server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
    const url = await server.start();
    await predictAll(url, key, MODEL, drifted(traffic.control));

    const done = await waitForStatus(client, MODEL, (s) => s.history.length >= 2, 120_000);
    const cycle2 = done.history[1]!;
    expect(cycle2, JSON.stringify(cycle2)).toMatchObject({ cycle: 2, stage: 'promoted', version: 2 });
    expect(cycle2.triggers.map((t) => t.kind)).toEqual(['drift']);
    expect(cycle2.triggers[0]!.detail).toMatch(new RegExp(`^${MODEL} v1: data drift`));
    // Retrained on the partition that was only recorded, so on a new dataset version.
    expect(done.partitions).toEqual(['2001-01', '2001-02']);
    expect(cycle2.datasetVersion).not.toBe(done.history[0]!.datasetVersion);

    const champion = await registry.getAlias(MODEL, 'champion');
    expect(champion.version).toBe(2);
    expect(champion.lineage.datasetVersion).toBe(cycle2.datasetVersion);
    const moves = (await registry.aliasHistory(MODEL, 'champion')).map((m) => [m.fromVersion, m.toVersion]);
    expect(moves).toEqual(
      expect.arrayContaining([
        [null, 1],
        [1, 2],
      ]),
    );

    // The alert the cycle came from: the monitor's, after two breaching checks of v1.
    const status = await monitor.query(driftMonitorStatusQuery);
    expect(status.state).toMatchObject({ alerts: 1, alertedVersion: 1 });
    expect(cycle2.triggers[0]!.eventId).toMatch(new RegExp(`^drift/${MODEL}/${status.state.epoch}/\\d+$`));
  }, 240_000);
});
