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
import { API_KEY_SCOPES, createApiKey } from '../auth/api-keys.ts';
import { loadConfig, type Env } from '../config/index.ts';
import { withDuck } from '../data/duck.ts';
import { arriveFlightsMonth } from '../data/lake.ts';
import { startDevStack, type DevStack } from '../dev/stack.ts';
import type { Logger } from '../log.ts';
import { createRegistry, REPORT_TAG, type ModelRegistry } from '../registry/index.ts';
import { ROLLOUT_TAGS } from '../../activities/rollout/index.ts';
import { loadModelSpec } from '../spec/model-spec.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../temporal/search-attributes.ts';
import { createServingAdmin, type ServingAdmin } from '../rollout/serving-admin.ts';
import { replayTraffic, type ReplayStats } from '../traffic/replay.ts';
import type { CycleSummary, DataArrivedSignal, LifecycleStatus, RolloutResult } from '../workflow-types.ts';
import type { DriftMonitorStatus } from '../monitor/types.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { dataArrivedSignal, modelLifecycle, statusQuery } from '../../workflows/model-lifecycle.ts';
import { driftMonitorStatusQuery } from '../../workflows/drift-monitor.ts';
import { rolloutStatusQuery, type RolloutStatus } from '../../workflows/rollout.ts';

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

export interface DemoSummary {
  spec: string;
  elapsedMs: number;
  cycles: CycleSummary[];
  champion: number | null;
  traffic: ReplayStats[];
  reports: Array<[string, string]>;
  webUiUrl: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running replay of one month's traffic, stopped when its phase ends. */
interface Replay {
  month: string;
  stop(): Promise<ReplayStats>;
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
  const stack = await startDevStack(config, options.logger, { port: options.port, uiPort: options.uiPort, onProgress: (l) => say(l), serving: () => serving, env });
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
    say(`Web UI: ${stack.webUiUrl}/namespaces/${config.temporal.namespace}/workflows?query=${encodeURIComponent(`FlywheelModel="${model}"`)}`);
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
      const signal: DataArrivedSignal = { eventId: event.eventId, dataset: event.dataset, partition: event.partition, uris: event.uris, ...(retrain ? {} : { retrain: false }) };
      return signal;
    };

    // 1. January and February → v1 (January only recorded; February's arrival starts the cycle).
    say('Publishing 2001-01 and 2001-02 to the data lake');
    const jan = await publish('2001-01', false);
    const feb = await publish('2001-02');
    await client.workflow.signalWithStart(modelLifecycle, {
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
    if (c1.stage !== 'promoted') throw new Error(`cycle 1 ended ${c1.stage}${c1.error ? `: ${c1.error}` : ''}; the demo needs a first champion`);
    await waitServing(createServingAdmin({ url, adminKey }), model, c1.version!);
    say(`v${c1.version} serves at ${url}/v1/models/${model}/predict`);

    // 2. March: live traffic, then March's data → v2 canaried under that traffic.
    const start = (month: string) => {
      replay = startReplay({ url, apiKey: predictKey, model, month, rate: options.rate, sample: profile.replaySample, feedbackDelayMs: profile.feedbackDelayMs, say });
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
    const summary: DemoSummary = { spec: profile.specPath, elapsedMs: Date.now() - t0, cycles: status.history, champion, traffic, reports, webUiUrl: stack.webUiUrl };
    printSummary(summary, options.out);
    if (options.jsonSummaryPath) await writeFile(options.jsonSummaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    if (options.keepRunning) {
      // Nothing else can open this stack's PGlite while it runs, so the key comes from here.
      const key = (await createApiKey(stack.db, { name: 'demo-you', scopes: [...API_KEY_SCOPES] })).key;
      const auth = shellQuote(`Authorization: Bearer ${key}`);
      options.out('');
      options.out('The stack keeps running (Web UI, inference server, workers). Press Ctrl-C to stop.');
      options.out(`  API key (${API_KEY_SCOPES.join(', ')})  ${key}`);
      options.out(`  Try it:  curl -s -H ${auth} -H 'content-type: application/json' -d ${shellQuote(JSON.stringify(EXAMPLE_BODY))} ${url}/v1/models/${model}/predict`);
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
    const r = (await client.workflow.getHandle(WORKFLOW_IDS.rollout(model, c.version)).result()) as RolloutResult;
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

interface ReplayOptions {
  url: string;
  apiKey: string;
  model: string;
  month: string;
  rate: number;
  /** Flights per pass; the pass repeats until the phase ends. */
  sample: number;
  feedbackDelayMs: number;
  say: (l: string) => void;
}

function startReplay(o: ReplayOptions): Replay {
  const stopSignal = new AbortController();
  const abort = new AbortController();
  let last = Date.now();
  const passes: ReplayStats[] = [];
  let current: ReplayStats | undefined;
  const total = (): ReplayStats => combine(o.month, [...passes, ...(current ? [current] : [])]);
  o.say(`Replaying ${o.month} traffic at ${o.rate} requests/s (${o.sample} flights sampled over the month, in scheduled order, repeated; labels ${o.feedbackDelayMs / 1000} s later)`);
  const done = (async () => {
    while (!stopSignal.signal.aborted) {
      const stats = await replayTraffic({
        baseUrl: o.url,
        apiKey: o.apiKey,
        model: o.model,
        month: o.month,
        rate: o.rate,
        sample: o.sample,
        feedbackDelayMs: o.feedbackDelayMs,
        progressIntervalMs: 5000,
        onProgress: (s) => {
          current = s;
          if (Date.now() - last < 30_000) return;
          last = Date.now();
          const t = total();
          o.say(`  traffic ${o.month}: ${t.ok} answered, ${t.failed} failed, ${t.feedback.posted} labels, p50 ${t.latencyMs.p50.toFixed(1)} ms, p99 ${t.latencyMs.p99.toFixed(1)} ms`);
        },
        stopSignal: stopSignal.signal,
        signal: abort.signal,
      });
      current = undefined;
      passes.push(stats);
    }
    return total();
  })();
  return {
    month: o.month,
    stop: async () => {
      stopSignal.abort();
      // Labels already owed are posted; then the replay ends.
      const timer = setTimeout(() => abort.abort(), o.feedbackDelayMs + 3000);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** One month's replay passes as one: counts added, latency quantiles the worst pass's. */
function combine(month: string, passes: ReplayStats[]): ReplayStats {
  const sum = (f: (s: ReplayStats) => number) => passes.reduce((a, s) => a + f(s), 0);
  const worst = (f: (s: ReplayStats) => number) => passes.reduce((a, s) => Math.max(a, f(s)), 0);
  const failures: Record<string, number> = {};
  for (const p of passes) for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
  const base = passes[0];
  return {
    ...(base ?? ({} as ReplayStats)),
    month,
    flights: sum((s) => s.flights),
    sent: sum((s) => s.sent),
    ok: sum((s) => s.ok),
    failed: sum((s) => s.failed),
    failures,
    cancelled: sum((s) => s.cancelled),
    latencyMs: { p50: worst((s) => s.latencyMs.p50), p99: worst((s) => s.latencyMs.p99), max: worst((s) => s.latencyMs.max) },
    feedback: {
      posted: sum((s) => s.feedback.posted),
      failed: sum((s) => s.feedback.failed),
      failures: {},
      pending: sum((s) => s.feedback.pending),
      skipped: sum((s) => s.feedback.skipped),
      abandoned: sum((s) => s.feedback.abandoned),
    },
    elapsedMs: sum((s) => s.elapsedMs),
  };
}

/** Polls the lifecycle, the current cycle's rollout and the drift monitor; prints what changed. */
function createWatcher(client: Client, model: string, say: (l: string) => void, running: Promise<void>) {
  const lifecycle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
  // Ctrl-C stops the workers, or the GPU worker process dies: nothing more will happen, say so.
  let stopped: Error | undefined;
  running.then(
    () => (stopped = new Error('the workers stopped (Ctrl-C?) before the demo finished')),
    (err: unknown) => (stopped = err instanceof Error ? err : new Error(String(err))),
  );
  let lastLine = '';
  const seenChecks = new Set<number>();
  const driftReports: string[] = [];
  const print = (line: string) => {
    if (line !== lastLine) say(line);
    lastLine = line;
  };

  async function poll(): Promise<LifecycleStatus> {
    if (stopped) throw stopped;
    const s = await lifecycle.query(statusQuery);
    const c = s.current;
    if (c) {
      let line = `cycle ${c.cycle} (${c.triggers.map((t) => t.kind).join('+')}): ${c.stage}${c.detail ? ` — ${c.detail}` : ''}`;
      if (c.stage === 'rollout' && c.version) {
        const r = await client.workflow
          .getHandle(WORKFLOW_IDS.rollout(model, c.version))
          .query(rolloutStatusQuery)
          .catch((): RolloutStatus | undefined => undefined);
        if (r) line = `cycle ${c.cycle}: rollout of v${r.challenger} step ${Math.min(r.step + 1, r.steps)}/${r.steps} ${r.state}${r.last ? `, last check ${r.last.verdict} (challenger ${r.last.challengerSamples} / champion ${r.last.championSamples} predictions)` : ''}`;
      }
      print(line);
    }
    const m = await client.workflow
      .getHandle(WORKFLOW_IDS.driftMonitor(model))
      .query(driftMonitorStatusQuery)
      .catch((): DriftMonitorStatus | undefined => undefined);
    const check = m?.state.lastCheck;
    if (m && check && !seenChecks.has(m.state.checks)) {
      seenChecks.add(m.state.checks);
      if (check.htmlUri && check.status === 'breach') driftReports.push(check.htmlUri);
      const drift = check.status === 'breach' || !check.drift ? check.reasons.join('; ') : check.drift.summary;
      print(`drift check ${m.state.checks} on v${check.championVersion ?? '?'} (${check.samples} predictions): ${check.status}${drift ? ` — ${drift}` : ''}${m.state.alerts ? ` [alerts sent: ${m.state.alerts}]` : ''}`);
    }
    return s;
  }

  return {
    driftReports,
    async cycleEnded(cycle: number, timeoutMs: number): Promise<CycleSummary> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const s = await poll();
        const ended = s.history.find((c) => c.cycle === cycle);
        if (ended) return ended;
        await sleep(1000);
      }
      throw new Error(`cycle ${cycle} of ${model} did not end within ${timeoutMs / 60_000} minutes`);
    },
    async cycleStarted(match: (c: CycleSummary) => boolean, timeoutMs: number): Promise<CycleSummary> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const s = await poll();
        const c = [...s.history, ...(s.current ? [s.current] : [])].find(match);
        if (c) return c;
        await sleep(1000);
      }
      throw new Error(`no cycle of ${model} started by drift within ${timeoutMs / 60_000} minutes`);
    },
  };
}

async function collectReports(registry: ModelRegistry, status: LifecycleStatus, monitor: DriftMonitorStatus | undefined, driftReports: string[]): Promise<Array<[string, string]>> {
  const reports: Array<[string, string]> = [];
  for (const c of status.history) {
    if (!c.version) continue;
    const tags = (await registry.getVersion(status.model, c.version)).tags;
    const report = tags[REPORT_TAG];
    const evidence = tags[ROLLOUT_TAGS.evidence];
    if (report) reports.push([`v${c.version} evaluation report`, report]);
    if (evidence) reports.push([`v${c.version} rollout evidence (${tags[ROLLOUT_TAGS.outcome] ?? ''})`, evidence]);
  }
  // The first breaching check's report explains the alert; else the latest check's.
  const breach = driftReports[0];
  const latest = monitor?.state.lastCheck?.htmlUri;
  if (breach) reports.push(['drift report (breach)', breach]);
  else if (latest) reports.push(['drift report (latest check)', latest]);
  return reports;
}

function printSummary(s: DemoSummary, out: (l: string) => void): void {
  const rows = s.cycles.map((c) => [
    String(c.cycle),
    c.triggers.map((t) => t.kind).join('+'),
    c.datasetVersion ?? '',
    c.version ? `v${c.version}` : '',
    c.metrics?.rocAuc !== undefined ? c.metrics.rocAuc.toFixed(4) : '',
    c.stage,
    c.endedAt && c.startedAt ? `${Math.round((Date.parse(c.endedAt) - Date.parse(c.startedAt)) / 1000)}s` : '',
  ]);
  const widths = ['cycle', 'trigger', 'dataset version', 'version', 'test AUC', 'outcome', 'took'].map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  out('');
  out(`Flywheel demo finished in ${(s.elapsedMs / 60_000).toFixed(1)} minutes; champion: ${s.champion ? `v${s.champion}` : 'none'}`);
  out('');
  out(line(['cycle', 'trigger', 'dataset version', 'version', 'test AUC', 'outcome', 'took']));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(r));
  out('');
  for (const t of s.traffic) {
    out(`traffic ${t.month}: ${t.ok} answered, ${t.failed} failed${t.failed ? ` (${JSON.stringify(t.failures)})` : ''}, ${t.feedback.posted} labels, p50 ${t.latencyMs.p50.toFixed(1)} ms, p99 ${t.latencyMs.p99.toFixed(1)} ms`);
  }
  out('');
  const width = Math.max(...s.reports.map(([k]) => k.length), 6);
  for (const [k, v] of [['Web UI', s.webUiUrl] as [string, string], ...s.reports]) out(`  ${k.padEnd(width)}  ${v}`);
}

