// `flywheel dev`: the embedded stack for a newcomer — Temporal dev server with Web UI, PGlite,
// a local artifact folder, the CPU and control workers here and the GPU worker in a child process — until
// Ctrl-C, which stops all of it.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { startDevStack } from '../dev/stack.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { createLogger } from '../../lib/log.ts';
import { createRegistry } from '../../lib/registry/index.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { installTemporalRuntime } from '../../lib/temporal/runtime.ts';
import { SERVICE_NAMES, startTracing } from '../../lib/telemetry/index.ts';
import { say, table } from '../output.ts';

interface DevOptions {
  port: string;
  uiPort: string;
  serve?: boolean;
  servePort: string;
}

export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${flag} must be a port number (1-65535), got ${value}`);
  return n;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run the embedded stack: Temporal dev server + Web UI, PGlite, local artifacts, the CPU worker and a GPU worker process')
    .option('--port <port>', 'Temporal frontend port on 127.0.0.1', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port on 127.0.0.1', '8233')
    .option('--serve', 'also run the inference server in this process (PGlite serves one process)')
    .option('--serve-port <port>', 'inference server port on 127.0.0.1 (with --serve)', '8080')
    .action(async (opts: DevOptions) => {
      const port = parsePort(opts.port, '--port');
      const uiPort = parsePort(opts.uiPort, '--ui-port');
      const servePort = parsePort(opts.servePort, '--serve-port');
      const config = loadConfig('worker');
      // Structured logs stay quiet here unless asked for: the terminal is for the progress lines.
      const level = process.env.FLYWHEEL_LOG_LEVEL ? config.logLevel : 'error';
      const logger = createLogger({ level, base: { process: 'flywheel-dev' } });
      installTemporalRuntime(logger, level);
      // FLYWHEEL_TRACING on: before the workers and the server are made, so they get their hooks.
      const tracing = startTracing(config.tracing, { serviceName: SERVICE_NAMES.dev });

      const started = Date.now();
      const stack = await startDevStack(config, logger, { port, uiPort, onProgress: (line) => say(`• ${line}`) });
      let server: InferenceServer | undefined;
      try {
        say('• Running the routing check (one activity on each task queue)');
        const check = await stack.routingCheck();
        let serving: Array<[string, string]> = [];
        if (opts.serve) {
          say('• Starting the inference server');
          const settings = { ...loadConfig('serve').serve, port: servePort };
          server = await createInferenceServer({
            settings,
            db: stack.db,
            registry: createRegistry(config, stack.db),
            store: stack.store,
            logger,
            temporal: { client: stack.env.client, workerConnection: stack.env.nativeConnection, namespace: config.temporal.namespace },
          });
          const url = await server.start();
          // `flywheel keys create` cannot open PGlite while this process holds it: hand out a key.
          const key = settings.auth
            ? (await createApiKey(stack.db, { name: 'flywheel-dev', scopes: ['predict', 'feedback', 'admin', 'events'] })).key
            : 'not needed (FLYWHEEL_SERVE_AUTH=false)';
          serving = [
            ['Serving', `${url} (models with a champion alias; /readyz, /metrics, /openapi.json)`],
            ['API key', key],
          ];
        }
        say('');
        say(`Flywheel dev stack is up (${((Date.now() - started) / 1000).toFixed(1)}s)`);
        say(
          table([
            ['Web UI', stack.webUiUrl],
            ['Temporal', `${stack.address} (namespace ${config.temporal.namespace})`],
            ['Database', config.database.kind === 'pglite' ? `PGlite in ${config.database.dataDir}` : 'PostgreSQL (DATABASE_URL)'],
            ['Artifacts', stack.store.baseUri],
            ['CPU worker', `${check.cpu.identity} → ran a probe on ${check.cpu.taskQueue}`],
            [
              'Control',
              `${stack.controlWorker.options.identity} on ${TASK_QUEUES.control} (${config.worker.controlActivitySlots} slots of its own)`,
            ],
            ['GPU worker', `${check.gpu.identity} → ran a probe on ${check.gpu.taskQueue} (own process; log ${stack.gpuWorker.logPath})`],
            ...serving,
          ]),
        );
        say('');
        say('Press Ctrl-C to stop.');
      } catch (err) {
        stack.shutdown();
        await stack.running.catch(() => undefined);
        await server?.stop().catch(() => undefined);
        await stack.close();
        await tracing?.shutdown();
        throw err;
      }
      // SIGINT/SIGTERM reach the Temporal runtime, which shuts the CPU and control workers down gracefully, and
      // the stack then stops the GPU worker process; `running` rejects if that process died.
      try {
        await stack.running;
      } finally {
        say('Stopping…');
        await server?.stop();
        await stack.close();
        await tracing?.shutdown();
      }
      say('Stopped.');
    });
}
