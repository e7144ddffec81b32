// The one logger interface every module uses: structured JSON (pino), levels from config.
// Keys that commonly carry secrets are redacted even if a caller logs them by mistake.
import { pino } from 'pino';

export interface Logger {
  trace(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  fatal(obj: object | string, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface CreateLoggerOptions {
  /** @default 'info' */
  level?: string;
  /** Fields added to every line, e.g. `{ process: 'worker-cpu' }`. */
  base?: Record<string, unknown>;
  /** @default process.stderr (stdout stays free for CLI output) */
  destination?: NodeJS.WritableStream;
}

const REDACT_PATHS = [
  'password',
  'apiKey',
  'secret',
  'secretAccessKey',
  'authorization',
  'databaseUrl',
  '*.password',
  '*.apiKey',
  '*.secret',
  '*.secretAccessKey',
  '*.authorization',
  '*.databaseUrl',
  'headers.authorization',
  'headers["x-api-key"]',
];

export function createLogger(options: CreateLoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? null,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that drops everything; for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
