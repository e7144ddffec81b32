// B11's worker process (bench/scale.ts spawns it): the real CPU worker configuration
// (createFlywheelWorker, the real workflow bundle, 4 activity slots) against a private dev server,
// with every activity stubbed except ensureDriftMonitor (real: it asks the server to start the
// monitor and finds it running). The stubs wait `SCALE_ACTIVITY_MS` and return the shapes the
// workflows read; the subject is workflow-task scheduling at scale, not the activities' work.
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createMonitorActivities } from '../activities/monitor/index.ts';
import { createLogger } from '../lib/log.ts';
import { sleep } from '../lib/time/sleep.ts';
import type { CheckDriftInput, DriftCheckSummary } from '../lib/contracts/drift-monitor.ts';
import { createFlywheelWorker } from '../workers/shared/create-worker.ts';

const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const activityMs = Number(process.env.SCALE_ACTIVITY_MS ?? '5');
const logger = createLogger({ level: 'warn' });

Runtime.install({ logger: new DefaultLogger('ERROR') });
const connection = await NativeConnection.connect({ address });
const clientConnection = await Connection.connect({ address });
const client = new Client({ connection: clientConnection });

async function work(): Promise<void> {
  if (activityMs > 0) await sleep(activityMs);
}

/** A clean check: enough samples, nothing drifted, no SLO breached. */
async function checkDrift(input: CheckDriftInput): Promise<DriftCheckSummary> {
  await work();
  return {
    checkId: input.checkId,
    at: new Date().toISOString(),
    status: 'ok',
    breach: false,
    reasons: [],
    championVersion: 1,
    reference: 'bench',
    samples: input.monitor.minSamples,
    drift: null,
    slo: { samples: input.monitor.minSamples, p99LatencyMs: null, errorRate: null, labels: 0, auc: null, positiveRate: null },
  };
}

const monitor = createMonitorActivities({
  client: async () => client,
  logger,
  // ensureDriftMonitor needs only the client; checkDrift is the stub above.
  store: undefined as never,
  registry: undefined as never,
});

let version = 0;
const stubs = {
  syncRetrainSchedule: async (spec: { name: string }) => (await work(), { scheduleId: `schedule/${spec.name}`, state: 'none' as const }),
  ingestDataset: async (input: { dataset: string }) => (
    await work(),
    { datasetVersion: 'v-bench', manifestUri: `s3://bench/${input.dataset}/manifest.json`, rows: 1000 }
  ),
  validateDataset: async () => (await work(), { reportUri: 's3://bench/validation.json', summary: 'ok', warnings: 0 }),
  profileDataset: async () => (await work(), { profileUri: 's3://bench/profile.json', rows: 1000 }),
  buildFeatures: async () => {
    await work();
    const split = (name: string) => ({ uri: `s3://bench/${name}.parquet`, rows: 100, positives: 20 });
    return {
      featureSpecUri: 's3://bench/features.json',
      featureSpecHash: 'bench',
      splits: { train: split('train'), validation: split('validation'), test: split('test') },
    };
  },
  trainFlightsMlp: async (input: { runKey: string }) => {
    await work();
    return {
      trainer: 'tfjs-mlp' as const,
      runKey: input.runKey,
      weightsUri: `s3://bench/${input.runKey}/weights`,
      modelUri: `s3://bench/${input.runKey}/model.onnx`,
      int8ModelUri: `s3://bench/${input.runKey}/model.int8.onnx`,
      featureSpecHash: 'bench',
      parity: { rows: 0, maxAbsDiff: 0, int8MaxAbsDiff: 0 },
      lineage: { hyperparameters: {} },
      metrics: {},
    };
  },
  evaluateCandidate: async () => {
    await work();
    return {
      summary: 'bench',
      passed: true as const,
      gateReportUri: 's3://bench/gates.json',
      reportUri: 's3://bench/report.html',
      metricsUri: 's3://bench/metrics.json',
      metrics: { rocAuc: 0.7 },
      worstSlice: null,
      champion: null,
      sizeBytes: 1,
    };
  },
  registerCandidate: async () => (await work(), { version: ++version }),
  recordApprovalDecision: async (input: Record<string, unknown>) => (await work(), { ...input, at: new Date().toISOString() }),
  promoteToChampion: async () => (await work(), { fromVersion: null, changed: true }),
  checkDrift,
  ensureDriftMonitor: monitor.ensureDriftMonitor,
};

const worker = await createFlywheelWorker({ kind: 'cpu', connection, namespace: 'default', activities: stubs });
// As in workers/cpu: control activities (registration, promotion, drift checks) have their own slots.
const control = await createFlywheelWorker({ kind: 'control', connection, namespace: 'default', activities: stubs });
const stop = () => {
  worker.shutdown();
  control.shutdown();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
console.log('scale worker started');
try {
  await Promise.all([worker.run(), control.run()]);
} finally {
  await clientConnection.close();
  await connection.close();
}
