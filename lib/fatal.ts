// The one place an entry point turns an uncaught error into an exit code:
// 2 for invalid configuration (with the variable named), 1 for anything else. People get the
// message; the stack trace only with FLYWHEEL_LOG_LEVEL=debug or trace.
import { ConfigError } from './config/index.ts';

export function exitOnFatal(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(ConfigError.EXIT_CODE);
  }
  const verbose = ['debug', 'trace'].includes(process.env.FLYWHEEL_LOG_LEVEL ?? '');
  if (err instanceof Error) console.error(verbose ? (err.stack ?? err.message) : `error: ${err.message}`);
  else console.error(`error: ${String(err)}`);
  process.exit(1);
}
