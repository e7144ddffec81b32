// One inference server for bench:serving, run as a child process so the bench can pin it to its
// own core. Its settings come as JSON in BENCH_SERVING_SERVER; it answers over IPC with its URL
// once listening, and with its event-loop delay and major GCs since the last ask whenever asked.
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import type { ServeSettings } from '../lib/config/index.ts';
import { PostgresDatabase } from '../lib/db/index.ts';
import { createLogger } from '../lib/log.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { createInferenceServer } from '../serving/server.ts';
import { NoopExecutor } from '../tests/fixtures/noop-executor.ts';

export interface BenchServerConfig {
  databaseUrl: string;
  storeUri: string;
  settings: ServeSettings;
  /** Set: a no-op model of this input width instead of ONNX Runtime (the HTTP ceiling). */
  noopInputDim?: number;
}

export interface ServerStats {
  eldP99Ms: number;
  eldMaxMs: number;
  majorGcs: number;
  heapUsedMb: number;
}

export type ToBenchServer = { type: 'stats' } | { type: 'stop' };
export type FromBenchServer = { type: 'ready'; url: string } | ({ type: 'stats' } & ServerStats) | { type: 'failed'; message: string };

function send(message: FromBenchServer): void {
  process.send?.(message);
}

const config = JSON.parse(process.env.BENCH_SERVING_SERVER ?? '{}') as BenchServerConfig;
const logger = createLogger({ level: 'warn', base: { process: 'bench-serve' } });
const db = await PostgresDatabase.create(config.databaseUrl);
const eld = monitorEventLoopDelay({ resolution: 1 });
let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
}).observe({ entryTypes: ['gc'] });
try {
  const inputDim = config.noopInputDim;
  const server = await createInferenceServer({
    settings: config.settings,
    db,
    registry: new BuiltinRegistry(db),
    store: await LocalArtifactStore.create(config.storeUri),
    logger,
    ...(inputDim !== undefined ? { executor: new NoopExecutor(() => ({ inputDim, outputDim: 1 })) } : {}),
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= server
      .stop()
      .then(() => db.close())
      .finally(() => process.exit(0));
  };
  // The bench asks us to stop; if the bench itself dies, the IPC channel closes and we stop too.
  process.on('message', (message: ToBenchServer) => {
    if (message.type === 'stop') stop();
    else if (message.type === 'stats') {
      send({
        type: 'stats',
        eldP99Ms: eld.percentile(99) / 1e6,
        eldMaxMs: eld.max / 1e6,
        majorGcs,
        heapUsedMb: process.memoryUsage().heapUsed / 2 ** 20,
      });
      eld.reset();
      majorGcs = 0;
    }
  });
  process.on('disconnect', stop);
  const url = await server.start();
  eld.enable();
  send({ type: 'ready', url });
} catch (err) {
  send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  await db.close();
  process.exit(1);
}
