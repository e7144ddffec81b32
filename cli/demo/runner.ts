// `flywheel demo`: the whole loop on the real flights data, in one process on embedded defaults.
// January–February → v1 champion; March's traffic is replayed while March arrives → v2 is trained
// and canaried under that traffic (promoted or rolled back on the evidence); April's
// and May's data land without starting a cycle and May's traffic is replayed → the drift monitor
// sees the shift (fewer late flights than the champion was trained on) and the lifecycle retrains
// on its own. Progress lines as it goes, a summary table at the end. `--quick` runs the same story
// on a compressed spec and shorter replay passes (about three minutes; the integration test runs it).
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import { API_KEY_SCOPES, createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig, type Env } from '../../lib/config/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { arriveFlightsMonth } from '../../lib/data/lake.ts';
import type { Logger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/registry/index.ts';
import { createServingAdmin, type ServingAdmin } from '../../lib/rollout/serving-admin.ts';
import { loadModelSpec } from '../../lib/model-spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { sleep } from '../../lib/time/sleep.ts';
import type { ReplayStats } from '../../lib/traffic/replay.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { startDevStack, type DevStack } from '../dev/stack.ts';
import { collectReports, printSummary, type DemoSummary } from './summary.ts';
import { startReplay, type Replay } from './traffic.ts';
import { createWatcher } from './watcher.ts';
import { driftMonitorStatusQuery } from '../../lib/contracts/drift-monitor.ts';
import {
  dataArrivedSignal,
  modelLifecycleWorkflow,
  statusQuery,
  type CycleSummary,
  type DataArrivedSignal,
} from '../../lib/contracts/model-lifecycle.ts';
import type { RolloutWorkflow } from '../../lib/contracts/rollout.ts';

export type { DemoSummary } from './summary.ts';

/** What differs between `flywheel demo` and `flywheel demo --quick`; everything else is shared. */
export interface DemoProfile {
  /** The model spec: training size, holds, analysis and monitor windows. */
  specPath: string;
  /** Flights per replay pass. A pass is repeated; at the demo's rate a drift window then spans
   * window × rate / replaySample of the month, so day-to-day weather averages out. */
  replaySample: number;
  /** March traffic before March's data arrives, so the canary starts on a warm server. */
  warmupMs: number;
  /** How long after its prediction each replayed flight's label is posted. */
  feedbackDelayMs: number;
}

const spec = (file: string) => fileURLToPath(new URL(`../../examples/flights/${file}`, import.meta.url));

export const DEMO_PROFILES = {
  full: { specPath: spec('demo.yaml'), replaySample: 6000, warmupMs: 10_000, feedbackDelayMs: 5000 },
  quick: { specPath: spec('demo-quick.yaml'), replaySample: 3000, warmupMs: 3000, feedbackDelayMs: 3000 },
} as const satisfies Record<string, DemoProfile>;

export const DEMO_SPEC_PATH = DEMO_PROFILES.full.specPath;

/** A request body the demo's model answers, for the curl line it prints (a real May flight's fields). */
const EXAMPLE_BODY = { instances: [{ date: '2001-05-04T13:45:00', distance: 337, origin: 'SFO', destination: 'LAX' }] };

export interface DemoOptions {
  port: number;
  uiPort: number;
  servePort: number;
  /** Replayed prediction requests per second. */
  rate: number;
  /** Keep the stack running after the summary (Ctrl-C stops it), with an API key to use it. */
  keepRunning: boolean;
  /** @default DEMO_PROFILES.full */
  profile?: DemoProfile;
  /** Also write the summary as JSON to this file (tests and scripts read it). */
  jsonSummaryPath?: string;
  logger: Logger;
  out: (line: string) => void;
  env?: Env;
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const t0 = Date.now();
  const profile = options.profile ?? DEMO_PROFILES.full;
  const clock = () => {
    const s = Math.round((Date.now() - t0) / 1000);
    return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  };
  const say = (line: string) => options.out(`[${clock()}] ${line}`);
  const baseEnv = options.env ?? process.env;
  // A fresh data folder per run: the demo always starts from an empty registry and history.
  const dataDir = resolve(baseEnv.FLYWHEEL_DATA_DIR ?? '.flywheel', 'demo', new Date().toISOString().replace(/[:.]/g, '-'));
  const env: Env = { ...baseEnv, FLYWHEEL_DATA_DIR: dataDir };
  const config = loadConfig('worker', env);
  const spec = await loadModelSpec(profile.specPath);
  const model = spec.name;

  let serving: { url: string; adminKey: string } | undefined;
  say(`Data folder ${dataDir}`);
  const stack = await startDevStack(config, options.logger, {
    port: options.port,
    uiPort: options.uiPort,
    onProgress: (l) => say(l),
    serving: () => serving,
    env,
  });
  let server: InferenceServer | undefined;
  // The one month replayed now: stopped when its phase ends, or on the way out after an error.
  let replay: Replay | undefined;
  const traffic: ReplayStats[] = [];
  const endReplay = async (): Promise<void> => {
    const ending = replay;
    replay = undefined;
    if (ending) traffic.push(await ending.stop());
  };
  try {
    say(
      `Web UI: ${stack.webUiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`FlywheelModel="${model}"`)}`,
    );
    const settings = { ...loadConfig('serve', env).serve, port: options.servePort, refreshMs: 1000, models: [model] };
    const registry = createRegistry(config, stack.db);
    const adminKey = (await createApiKey(stack.db, { name: 'demo-rollout', scopes: ['admin'] })).key;
    // The replay predicts and posts each flight's label (the `feedback` scope, where keys have one).
    const trafficScopes = API_KEY_SCOPES.filter((scope) => scope !== 'admin' && scope !== 'events');
    const predictKey = (await createApiKey(stack.db, { name: 'demo-traffic', scopes: trafficScopes })).key;
    server = await createInferenceServer({ settings, db: stack.db, registry, store: stack.store, logger: options.logger });
    const url = await server.start();
    serving = { url, adminKey };
    say(`Inference server ${url} (keys created: admin for the rollout, ${trafficScopes.join(' and ')} for the replayed traffic)`);

    const client = stack.env.client;
    const lifecycleId = WORKFLOW_IDS.modelLifecycle(model);
    const watcher = createWatcher(client, model, say, stack.running);

    const publish = async (month: string, retrain = true): Promise<DataArrivedSignal> => {
      const { event } = await withDuck((duck) => arriveFlightsMonth(duck, stack.store, month));
      const signal: DataArrivedSignal = {
        eventId: event.eventId,
        dataset: event.dataset,
        partition: event.partition,
        uris: event.uris,
        ...(retrain ? {} : { retrain: false }),
      };
      return signal;
    };

    // 1. January and February → v1 (January only recorded; February's arrival starts the cycle).
    say('Publishing 2001-01 and 2001-02 to the data lake');
    const jan = await publish('2001-01', false);
    const feb = await publish('2001-02');
    await client.workflow.signalWithStart(modelLifecycleWorkflow, {
      workflowId: lifecycleId,
      taskQueue: TASK_QUEUES.cpu,
      args: [spec],
      signal: dataArrivedSignal,
      signalArgs: [jan],
      typedSearchAttributes: [{ key: SEARCH_ATTRIBUTES.model, value: model }],
      staticSummary: `lifecycle of ${model} (demo)`,
    });
    await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, feb);
    say(`${lifecycleId} started; 2001-02 arrived → cycle 1 trains on 2001-01…2001-02`);
    const c1 = await watcher.cycleEnded(1, 8 * 60_000);
    if (c1.stage !== 'promoted')
      throw new Error(`cycle 1 ended ${c1.stage}${c1.error ? `: ${c1.error}` : ''}; the demo needs a first champion`);
    await waitServing(createServingAdmin({ url, adminKey }), model, c1.version!);
    say(`v${c1.version} serves at ${url}/v1/models/${model}/predict`);

    // 2. March: live traffic, then March's data → v2 canaried under that traffic.
    const start = (month: string) => {
      replay = startReplay({
        url,
        apiKey: predictKey,
        model,
        month,
        rate: options.rate,
        sample: profile.replaySample,
        feedbackDelayMs: profile.feedbackDelayMs,
        say,
      });
    };
    start('2001-03');
    await sleep(profile.warmupMs);
    say('Publishing 2001-03 → cycle 2');
    await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, await publish('2001-03'));
    const c2 = await watcher.cycleEnded(2, 10 * 60_000);
    say(`cycle 2 ended: ${c2.stage}${c2.version ? ` (v${c2.version})` : ''}${await rolloutReason(client, model, c2)}`);
    await endReplay();

    // 3. April and May land without a cycle; May's traffic has fewer late flights (16% against
    //    21–23% in January–March): the monitor sees the label shift and the lifecycle retrains.
    say('Publishing 2001-04 and 2001-05 without starting a cycle (the next cycle, whatever starts it, trains on them)');
    await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, await publish('2001-04', false));
    await client.workflow.getHandle(lifecycleId).signal(dataArrivedSignal, await publish('2001-05', false));
    start('2001-05');
    say('Replaying May traffic: the drift monitor compares its window with the champion training data');
    const driftCycle = await watcher.cycleStarted((c) => c.cycle > 2 && c.triggers.some((t) => t.kind === 'drift'), 6 * 60_000);
    say(`cycle ${driftCycle.cycle} started by drift: ${driftCycle.triggers.find((t) => t.kind === 'drift')?.detail ?? ''}`);
    const c3 = await watcher.cycleEnded(driftCycle.cycle, 10 * 60_000);
    say(`cycle ${c3.cycle} ended: ${c3.stage}${c3.version ? ` (v${c3.version})` : ''}${await rolloutReason(client, model, c3)}`);
    await endReplay();

    // Summary.
    const status = await client.workflow.getHandle(lifecycleId).query(statusQuery);
    const monitor = await client.workflow
      .getHandle(WORKFLOW_IDS.driftMonitor(model))
      .query(driftMonitorStatusQuery)
      .catch(() => undefined);
    const reports = await collectReports(registry, status, monitor, watcher.driftReports);
    const champion = status.history.filter((c) => c.stage === 'promoted').at(-1)?.version ?? null;
    const summary: DemoSummary = {
      spec: profile.specPath,
      elapsedMs: Date.now() - t0,
      cycles: status.history,
      champion,
      traffic,
      reports,
      webUiUrl: stack.webUiUrl,
    };
    printSummary(summary, options.out);
    if (options.jsonSummaryPath) await writeFile(options.jsonSummaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    if (options.keepRunning) {
      // Nothing else can open this stack's PGlite while it runs, so the key comes from here.
      const key = (await createApiKey(stack.db, { name: 'demo-you', scopes: [...API_KEY_SCOPES] })).key;
      const auth = shellQuote(`Authorization: Bearer ${key}`);
      options.out('');
      options.out('The stack keeps running (Web UI, inference server, workers). Press Ctrl-C to stop.');
      options.out(`  API key (${API_KEY_SCOPES.join(', ')})  ${key}`);
      options.out(
        `  Try it:  curl -s -H ${auth} -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(EXAMPLE_BODY))} ${url}/v1/models/${model}/predict`,
      );
      options.out(`  Routing: curl -s -H ${auth} ${url}/v1/admin/models/${model}/routing    API: ${url}/openapi.json`);
      await stack.running;
    }
    return summary;
  } finally {
    await endReplay().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await shutdown(stack);
  }
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** `: <why>` from the cycle's rollout, when it had one. */
async function rolloutReason(client: Client, model: string, c: CycleSummary): Promise<string> {
  if (!c.version || (c.stage !== 'promoted' && c.stage !== 'rolled-back')) return '';
  try {
    const r = await client.workflow.getHandle<RolloutWorkflow>(WORKFLOW_IDS.rollout(model, c.version)).result();
    return ` — rollout ${r.outcome}: ${r.reason}`;
  } catch {
    return '';
  }
}

async function shutdown(stack: DevStack): Promise<void> {
  stack.shutdown();
  await stack.running.catch(() => undefined);
  await stack.close();
}

async function waitServing(admin: ServingAdmin, model: string, version: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const route = await admin.getRoute(model).catch(() => undefined); // 404 until the server loads it
    if (route?.champion.version === version) return;
    await sleep(500);
  }
  throw new Error(`the inference server did not load ${model} v${version} within ${timeoutMs / 1000}s`);
}
