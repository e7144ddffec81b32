// The console process (`flywheel console`): config → connect → create → listen, and a clean stop
// on SIGINT/SIGTERM. The Temporal connection is lazy: a console started while Temporal is down
// serves registry pages (with a note) and reads lifecycles once Temporal answers.
import { Client, Connection } from '@temporalio/client';
import { isLoopbackHost, loadConfig, type ConsoleSettings, type Env } from '../lib/config/index.ts';
import { openDatabase, type Database } from '../lib/db/index.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { createRegistry } from '../lib/registry/index.ts';
import { createArtifactStore, s3OptionsFrom } from '../lib/storage/index.ts';
import { connectionOptions } from '../lib/temporal/connection.ts';
import { createConsoleServer, type ConsoleServer } from './server.ts';

export interface ConsoleOverrides {
  host?: string;
  port?: number;
}

/** The warning a console with open reads on a reachable address deserves (undefined: none). */
export function openReadsWarning(settings: Pick<ConsoleSettings, 'host' | 'reads'>): string | undefined {
  if (settings.reads !== 'open' || isLoopbackHost(settings.host)) return undefined;
  return `FLYWHEEL_CONSOLE_READS=open on ${settings.host}: anyone who reaches this address can read models, runs and reports; actions still need an admin key`;
}

export interface RunningConsole {
  url: string;
  server: ConsoleServer;
  close(): Promise<void>;
}

/** Starts the console from configuration; `close()` stops it and its connections. */
export async function startConsoleProcess(
  env: Env = process.env,
  overrides: ConsoleOverrides = {},
  logger?: Logger,
): Promise<RunningConsole> {
  const config = loadConfig('console', env);
  const log = logger ?? createLogger({ level: config.logLevel, base: { process: 'console' } });
  const host = overrides.host ?? config.console.host;
  // A default of `open` only holds on loopback: a host given on the command line re-decides it.
  const reads = config.console.readsExplicit ? config.console.reads : isLoopbackHost(host) ? 'open' : 'login';
  const warning = openReadsWarning({ host, reads });
  if (warning) log.warn({ host }, warning);
  let db: Database | undefined;
  let connection: Connection | undefined;
  try {
    db = (
      await openDatabase(config.database, {
        postgres: { connectTimeoutMs: 5000, queryTimeoutMs: 15_000, applicationName: 'flywheel-console' },
      })
    ).db;
    const store = await createArtifactStore(config.artifactStore);
    connection = Connection.lazy(await connectionOptions(config.temporal));
    const temporal = new Client({ connection, namespace: config.temporal.namespace });
    const server = createConsoleServer({
      deps: {
        db,
        registry: createRegistry(config, db),
        store,
        temporal,
        namespace: config.temporal.namespace,
        ...(config.console.webUiUrl ? { webUiUrl: config.console.webUiUrl } : {}),
        logger: log,
        s3: s3OptionsFrom(config.artifactStore),
      },
      settings: {
        host,
        port: overrides.port ?? config.console.port,
        reads,
        ...(config.console.sessionSecret ? { sessionSecret: config.console.sessionSecret } : {}),
      },
    });
    const url = await server.start();
    log.info({ url, reads }, 'console listening');
    const [openDb, openConnection] = [db, connection];
    return {
      url,
      server,
      async close() {
        await server.close();
        await openConnection.close().catch(() => undefined);
        await openDb.close();
      },
    };
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await db?.close();
    throw err;
  }
}
