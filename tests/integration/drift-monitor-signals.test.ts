// The drift monitor's own logic on a real (ephemeral) Temporal dev server. The check activity is
// stubbed (a script of verdicts) because the subject is the workflow: its signal handlers
// validate what they are sent (undefined, {} and junk through the real `temporal` CLI are
// refused and recorded, the monitor stays healthy), new settings from `updateMonitorSettings`
// apply from the next check and survive continue-as-new (`enabled: false` ends it), the status
// says why it is not alerting, drift that persists after an alert alerts again once the cooldown
// has passed, and a checkNow that arrives in the same workflow task as the run's last check
// result is answered by the next run.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { CompleteAsyncError, Context } from '@temporalio/activity';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMonitorActivities } from '../../activities/monitor/index.ts';
import { createLogger } from '../../lib/log.ts';
import { monitorSpecSchema } from '../../lib/model-spec/monitor-spec.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTE_LIST } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';
import { getInfra } from './infra.ts';
import { ROOT } from './processes.ts';
import {
  checkNowSignal,
  driftMonitorStatusQuery,
  driftMonitorWorkflow,
  updateMonitorSettingsSignal,
  type CheckDriftInput,
  type CheckStatus,
  type DriftCheckSummary,
  type DriftMonitorStatus,
  type MonitorSpec,
} from '../../lib/contracts/drift-monitor.ts';

const run = promisify(execFile);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const infra = getInfra();
const logger = createLogger({ level: 'silent' });
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
// The monitor's checks run on the control queue (their own slots in the CPU worker process): one
// worker polls it for the whole file and hands each check to the stub of the test that runs.
let activeCheck: ((input: CheckDriftInput) => Promise<DriftCheckSummary>) | undefined;
let control: Worker | undefined;
let controlRun: Promise<void> | undefined;

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: infra.temporalCliPath }, searchAttributes: SEARCH_ATTRIBUTE_LIST },
  });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  control = await createWorker({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUES.control,
    activities: {
      checkDrift: (input: CheckDriftInput) => {
        if (!activeCheck) throw new Error('no test is running a check');
        return activeCheck(input);
      },
    },
  });
  controlRun = control.run();
}, 120_000);

afterAll(async () => {
  control?.shutdown();
  await controlRun;
  await env?.teardown();
});

/** A worker for the test's own queue (the workflows); its stub check answers on the control queue. */
function workerFor(options: Parameters<typeof createWorker>[0] & { activities: { checkDrift: typeof activeCheck } }) {
  activeCheck = options.activities.checkDrift;
  return createWorker(options);
}

/** Checks only on demand (an hour's interval) unless a test changes it. */
function settings(overrides: Record<string, unknown> = {}): MonitorSpec {
  return monitorSpecSchema.parse({ interval: '1h', minSamples: 500, breachesToAlert: 2, clearsToRearm: 2, cooldown: '1h', ...overrides });
}

function summaryOf(input: CheckDriftInput, status: CheckStatus): DriftCheckSummary {
  const samples = status === 'insufficient-data' ? 12 : 600;
  return {
    checkId: input.checkId,
    at: new Date().toISOString(),
    status,
    breach: status === 'breach',
    reasons: status === 'breach' ? ['data drift'] : [],
    championVersion: 1,
    reference: 'fixture',
    samples,
    drift: null,
    slo: { samples, p99LatencyMs: null, errorRate: null, labels: 0, auc: null, positiveRate: null },
  };
}

/** A stand-in check: the next status of `script` (then `ok` forever); records each input. */
function stubCheck(script: CheckStatus[], inputs: CheckDriftInput[]) {
  return {
    async checkDrift(input: CheckDriftInput): Promise<DriftCheckSummary> {
      inputs.push(input);
      return summaryOf(input, script.shift() ?? 'ok');
    },
  };
}

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** `temporal workflow signal`, as an operator would type it (no --input when `input` is undefined). */
async function cliSignal(workflowId: string, name: string, input?: string): Promise<void> {
  const args = ['workflow', 'signal', '--address', env.address, '--namespace', 'default', '--workflow-id', workflowId, '--name', name];
  await run(infra.temporalCliPath, input === undefined ? args : [...args, '--input', input]);
}

async function startMonitor(taskQueue: string, monitor: MonitorSpec, checksBeforeContinueAsNew = 100) {
  const model = `m-${randomUUID().slice(0, 8)}`;
  return env.client.workflow.start(driftMonitorWorkflow, {
    workflowId: `monitor/${model}`,
    taskQueue,
    args: [{ model, monitor, lifecycleWorkflowId: `model/absent-${model}`, checksBeforeContinueAsNew }],
  });
}

async function checkAndWait(handle: Awaited<ReturnType<typeof startMonitor>>): Promise<DriftMonitorStatus> {
  const before = (await handle.query(driftMonitorStatusQuery)).state.checks;
  await handle.signal(checkNowSignal, { reason: 'test' });
  return waitFor(
    `check ${before + 1}`,
    () => handle.query(driftMonitorStatusQuery),
    (s) => s.state.checks > before && s.phase === 'waiting',
  );
}

describe('driftMonitor signals and status', () => {
  it('refuses undefined, {} and junk payloads from the temporal CLI, records them, and keeps working', async () => {
    const taskQueue = `monitor-signals-${randomUUID().slice(0, 8)}`;
    const inputs: CheckDriftInput[] = [];
    const worker = await workerFor({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: stubCheck([], inputs),
    });
    await worker.runUntil(async () => {
      const handle = await startMonitor(taskQueue, settings());
      for (const input of [undefined, '{}', '"junk"', '42', '{"monitor":{"interval":"soon"}}', '{"monitor":null}'])
        await cliSignal(handle.workflowId, 'updateMonitorSettings', input);
      for (const input of ['"junk"', '[1,2]', '{"reason":7}']) await cliSignal(handle.workflowId, 'checkNow', input);
      const status = await waitFor(
        'nine refusals',
        () => handle.query(driftMonitorStatusQuery),
        (s) => s.refusedTotal >= 9,
      );
      expect(status.refused.map((r) => r.handler)).toEqual([
        ...Array<string>(6).fill('updateMonitorSettings'),
        'checkNow',
        'checkNow',
        'checkNow',
      ]);
      expect(status.refused[4]!.reason).toContain('monitor.interval');
      // Nothing refused changed the settings or ran a check.
      expect(status.monitor).toEqual(settings());
      expect(status.state.checks).toBe(0);
      expect(status.notAlertingBecause).toMatchObject({ code: 'no-check-yet' });

      // checkNow without input and with {} are valid requests: each is answered.
      await cliSignal(handle.workflowId, 'checkNow');
      await waitFor(
        'check 1',
        () => handle.query(driftMonitorStatusQuery),
        (s) => s.state.checks === 1 && s.phase === 'waiting',
      );
      await cliSignal(handle.workflowId, 'checkNow', '{}');
      await waitFor(
        'check 2',
        () => handle.query(driftMonitorStatusQuery),
        (s) => s.state.checks === 2 && s.phase === 'waiting',
      );
      const { status: described } = await handle.describe();
      expect(described.name).toBe('RUNNING');
      // No workflow task failed along the way.
      const history = await handle.fetchHistory();
      expect(history.events!.filter((e) => e.workflowTaskFailedEventAttributes)).toEqual([]);
      await handle.terminate('test done');
    });
  });

  it('new settings apply from the next check, survive continue-as-new, wake a waiting monitor, and enabled: false ends it', async () => {
    const taskQueue = `monitor-settings-${randomUUID().slice(0, 8)}`;
    const inputs: CheckDriftInput[] = [];
    const worker = await workerFor({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: stubCheck([], inputs),
    });
    await worker.runUntil(async () => {
      const handle = await startMonitor(taskQueue, settings(), 2);
      await checkAndWait(handle);
      // What the lifecycle's activity does when a running model's spec changed: the monitor runs, so
      // it is sent the new settings.
      const activities = createMonitorActivities({
        client: async () => env.client,
        logger,
        store: undefined as never,
        registry: undefined as never,
      });
      const name = handle.workflowId.slice('monitor/'.length);
      const spec = { name, data: { dataset: 'flights' }, monitor: settings({ minSamples: 42 }) } as Parameters<
        typeof activities.ensureDriftMonitor
      >[0]['spec'];
      expect(await activities.ensureDriftMonitor({ spec })).toEqual({ workflowId: handle.workflowId, state: 'running' });
      await checkAndWait(handle); // the run's last check: the next one is in a new run
      const after = await checkAndWait(handle);
      expect(inputs.map((i) => i.monitor.minSamples)).toEqual([500, 42, 42]);
      expect(after.monitor.minSamples).toBe(42);
      expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);

      // A shorter interval wakes the hour-long wait: the next check comes by itself.
      await handle.signal(updateMonitorSettingsSignal, { monitor: settings({ minSamples: 42, interval: '1s' }) });
      await waitFor(
        'a check on the new interval',
        () => handle.query(driftMonitorStatusQuery),
        (s) => s.state.checks >= 4,
      );
      expect(await activities.ensureDriftMonitor({ spec: { ...spec, monitor: settings({ enabled: false }) } })).toEqual({
        workflowId: handle.workflowId,
        state: 'disabled',
      });
      await waitFor(
        'the monitor to end',
        async () => (await handle.describe()).status.name,
        (s) => s === 'COMPLETED',
      );
    });
  });

  it('says why it is not alerting, and drift that persists after an alert alerts again after the cooldown', async () => {
    const taskQueue = `monitor-reason-${randomUUID().slice(0, 8)}`;
    const inputs: CheckDriftInput[] = [];
    const script: CheckStatus[] = ['insufficient-data', 'breach', 'breach', 'breach', 'breach', 'breach'];
    const worker = await workerFor({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities: stubCheck(script, inputs),
    });
    await worker.runUntil(async () => {
      const handle = await startMonitor(taskQueue, settings({ cooldown: '2s' }));
      const reasons: Array<DriftMonitorStatus['notAlertingBecause']> = [];
      const alerts: number[] = [];
      for (let i = 0; i < 4; i++) {
        const s = await checkAndWait(handle);
        reasons.push(s.notAlertingBecause);
        alerts.push(s.state.alerts);
      }
      expect(reasons[0]).toEqual({ code: 'insufficient-data', message: 'insufficient data: 12 predictions in the window, 500 needed' });
      expect(reasons[1]).toMatchObject({ code: 'below-breaches-to-alert', breachesNeeded: 1 });
      expect(reasons[2]).toBeNull(); // this check alerted
      expect(reasons[3]).toMatchObject({ code: 'disarmed' });
      expect(reasons[3]!.message).toContain('drift persists');
      expect(alerts).toEqual([0, 0, 1, 1]);
      // `flywheel monitor status` says the same.
      const cli = await run(
        process.execPath,
        ['bin/flywheel.js', 'monitor', 'status', handle.workflowId.slice('monitor/'.length), '--address', env.address],
        {
          cwd: ROOT,
        },
      );
      expect(cli.stdout).toMatch(/Not alerting\s+disarmed since the alert at .*drift persists/);

      // Still breaching past the cooldown: the retrain it asked for did not help; alert again.
      const until = Date.parse(reasons[3]!.until!);
      await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 200));
      const again = await checkAndWait(handle);
      expect(again.state.alerts).toBe(2);
      expect(again.notAlertingBecause).toBeNull();
      expect(again.state.lastAlertAt).not.toBe(reasons[3]!.since);
      await handle.terminate('test done');
    });
  });

  it('a checkNow that arrives with the last check result of a run is answered by the next run', async () => {
    const taskQueue = `monitor-can-${randomUUID().slice(0, 8)}`;
    const inputs: CheckDriftInput[] = [];
    let token: Uint8Array | undefined;
    const activities = {
      async checkDrift(input: CheckDriftInput): Promise<DriftCheckSummary> {
        inputs.push(input);
        // The run's last check completes later, from the test, while no worker is polling.
        if (inputs.length !== 2) return summaryOf(input, 'ok');
        token = Context.current().info.taskToken;
        throw new CompleteAsyncError();
      },
    };
    const handle = await startMonitor(taskQueue, settings(), 2);
    const first = await workerFor({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities,
      maxCachedWorkflows: 0,
    });
    await first.runUntil(async () => {
      await checkAndWait(handle);
      await handle.signal(checkNowSignal, {});
      await waitFor(
        'the last check to start',
        async () => token,
        (t) => t !== undefined,
      );
    });
    // With no worker: the check result and a checkNow land in one workflow task, the run's last.
    await env.client.activity.complete(token!, summaryOf(inputs[1]!, 'ok'));
    await handle.signal(checkNowSignal, { reason: 'while the run ends' });
    const second = await workerFor({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: bundle,
      activities,
      maxCachedWorkflows: 0,
    });
    await second.runUntil(async () => {
      // The interval is an hour: only the carried request makes check 3 happen now.
      const s = await waitFor(
        'check 3 in the next run',
        () => handle.query(driftMonitorStatusQuery),
        (q) => q.state.checks === 3 && q.phase === 'waiting',
      );
      expect(s.state.checks).toBe(3);
      // Both events wait for one workflow task in the first run's history.
      const events = (await env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId).fetchHistory()).events!;
      const completed = events.findLastIndex((e) => e.activityTaskCompletedEventAttributes);
      const signalled = events.findLastIndex((e) => e.workflowExecutionSignaledEventAttributes);
      const taskStarted = events.slice(Math.min(completed, signalled)).findIndex((e) => e.workflowTaskStartedEventAttributes);
      expect(taskStarted + Math.min(completed, signalled)).toBeGreaterThan(Math.max(completed, signalled));
      expect((await handle.describe()).runId).not.toBe(handle.firstExecutionRunId);
      await handle.terminate('test done');
    });
  });
});
