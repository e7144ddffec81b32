// One inference server for bench:serving, run as a child process so the bench can pin it to its
// own core (`taskset -c 0`). Its settings come as JSON in argv[2]; it answers over IPC with its
// URL once listening, and with its event-loop delay (since the last ask) whenever asked.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { ServeSettings } from '../lib/config/index.ts';
import { PostgresDatabase } from '../lib/db/index.ts';
import { createLogger } from '../lib/log.ts';
import { BuiltinRegistry } from '../lib/registry/index.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { NoopExecutor } from '../serving/inference/executor.ts';
import { createInferenceServer } from '../serving/server.ts';

export interface BenchServerConfig {
  databaseUrl: string;
  storeUri: string;
  settings: ServeSettings;
  /** Set: a no-op model of this input width instead of ONNX Runtime (the HTTP ceiling). */
  noopInputDim?: number;
}

export type ToBenchServer = { type: 'eld' } | { type: 'stop' };
export type FromBenchServer =
  | { type: 'ready'; url: string }
  | { type: 'eld'; p99Ms: number; maxMs: number }
  | { type: 'failed'; message: string };

function send(message: FromBenchServer): void {
  process.send?.(message);
}

const config = JSON.parse(process.argv[2] ?? '{}') as BenchServerConfig;
const logger = createLogger({ level: 'warn', base: { process: 'bench-serve' } });
const db = await PostgresDatabase.create(config.databaseUrl);
const eld = monitorEventLoopDelay({ resolution: 1 });
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
    else if (message.type === 'eld') {
      send({ type: 'eld', p99Ms: eld.percentile(99) / 1e6, maxMs: eld.max / 1e6 });
      eld.reset();
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
