// The one place an entry point turns an uncaught error into an exit code:
// 2 for invalid configuration (with the variable named), 1 for anything else.
import { ConfigError } from './config/index.ts';

export function exitOnFatal(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(ConfigError.EXIT_CODE);
  }
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
