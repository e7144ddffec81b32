// `flywheel dev`: the embedded stack for a newcomer — Temporal dev server with Web UI, PGlite,
// a local artifact folder, the CPU and control workers here and the GPU worker in a child process — until
// Ctrl-C, which stops all of it.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { assertPortFree, startDevStack, type DevStack } from '../dev/stack.ts';
import { createConsoleServer, type ConsoleServer } from '../../console/server.ts';
import type { WorkerConfig } from '../../lib/config/index.ts';
import type { Logger } from '../../lib/log.ts';
import { s3OptionsFrom } from '../../lib/storage/index.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';
import { createApiKey, listApiKeys, revokeApiKey, type ApiKeyScope } from '../../lib/auth/api-keys.ts';
import type { Database } from '../../lib/db/index.ts';
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
  /** false with --no-console. */
  console: boolean;
  consolePort?: string;
}

/** The console's default port in `flywheel dev`; taken (another dev stack's console): any free one. */
const DEFAULT_CONSOLE_PORT = 8288;

/** Starts the console in this process on the stack's database, store and Temporal client. */
async function startDevConsole(stack: DevStack, config: WorkerConfig, logger: Logger, port: number | undefined): Promise<ConsoleServer> {
  const settings = loadConfig('console').console;
  let listenPort = port ?? DEFAULT_CONSOLE_PORT;
  if (port === undefined) await assertPortFree(listenPort, 'the console').catch(() => (listenPort = 0));
  const server = createConsoleServer({
    deps: {
      db: stack.db,
      registry: createRegistry(config, stack.db),
      store: stack.store,
      temporal: stack.env.client,
      namespace: config.temporal.namespace,
      webUiUrl: stack.webUiUrl,
      logger,
      s3: s3OptionsFrom(config.artifactStore),
    },
    // Loopback only, so reads are open unless FLYWHEEL_CONSOLE_READS says otherwise.
    settings: {
      host: '127.0.0.1',
      port: listenPort,
      reads: settings.readsExplicit ? settings.reads : 'open',
      ...(settings.sessionSecret ? { sessionSecret: settings.sessionSecret } : {}),
    },
  });
  return server;
}

export function parsePort(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`${flag} must be a port number (1-65535), got ${value}`);
  return n;
}

/**
 * A fresh key for this run of `flywheel dev` (only its hash is stored, so the last run's cannot be
 * shown again): the keys earlier runs handed out under the same name are revoked first, so the
 * data folder does not pile up live admin keys nobody holds any more.
 */
async function devKey(db: Database, name: string, scopes: ApiKeyScope[]): Promise<string> {
  for (const k of await listApiKeys(db)) if (k.name === name && k.revokedAt === null) await revokeApiKey(db, k.id);
  return (await createApiKey(db, { name, scopes })).key;
}

export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('run the embedded stack: Temporal dev server + Web UI, PGlite, local artifacts, the CPU worker and a GPU worker process')
    .option('--port <port>', 'Temporal frontend port on 127.0.0.1', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port on 127.0.0.1', '8233')
    .option('--serve', 'also run the inference server in this process (PGlite serves one process)')
    .option('--serve-port <port>', 'inference server port on 127.0.0.1 (with --serve)', '8080')
    .option('--console-port <port>', `web console port on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT}, or a free one when that is taken)`)
    .option('--no-console', 'do not serve the web console')
    .action(async (opts: DevOptions) => {
      const port = parsePort(opts.port, '--port');
      const uiPort = parsePort(opts.uiPort, '--ui-port');
      const servePort = parsePort(opts.servePort, '--serve-port');
      const consolePort = opts.consolePort === undefined ? undefined : parsePort(opts.consolePort, '--console-port');
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
      let consoleServer: ConsoleServer | undefined;
      try {
        say('• Running the routing check (one activity on each task queue)');
        const check = await stack.routingCheck();
        let serving: Array<[string, string]> = [];
        let adminKey: string | undefined;
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
          adminKey = settings.auth ? await devKey(stack.db, 'flywheel-dev', ['predict', 'feedback', 'admin', 'events']) : undefined;
          const key = adminKey ?? 'not needed (FLYWHEEL_SERVE_AUTH=false)';
          serving = [
            ['Serving', `${url} (models with a champion alias; /readyz, /metrics, /openapi.json)`],
            ['API key', key],
          ];
        }
        let consoleRows: Array<[string, string]> = [];
        if (opts.console) {
          say('• Starting the web console');
          consoleServer = await startDevConsole(stack, config, logger, consolePort);
          const url = await consoleServer.start();
          // Console actions need an admin key, and `flywheel keys create` cannot open PGlite now.
          const key = adminKey ?? (await devKey(stack.db, 'flywheel-dev-console', ['admin']));
          consoleRows = [
            ['Console', `${url} (models, runs, rollouts, drift; docs/console.md)`],
            ...(adminKey ? [] : ([['Console key', `${key} (sign in at ${url}/login to act)`]] as Array<[string, string]>)),
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
            ...consoleRows,
          ]),
        );
        say('');
        say('Press Ctrl-C to stop.');
      } catch (err) {
        stack.shutdown();
        await stack.running.catch(() => undefined);
        await server?.stop().catch(() => undefined);
        await consoleServer?.close().catch(() => undefined);
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
        await consoleServer?.close();
        await server?.stop();
        await stack.close();
        await tracing?.shutdown();
      }
      say('Stopped.');
    });
}
