// `flywheel config`: parses the configuration exactly as every Flywheel process would (workers,
// the inference server, the CLI) and prints it, secrets and URL passwords redacted, so a user
// can check what a process will see before starting it.
import type { Command } from 'commander';
import { ConfigError, loadConfig, redactUrl, type ConfigFor, type ConfigProblem, type ProcessKind } from '../../lib/config/index.ts';
import { CONFIG_SCHEMAS } from '../../lib/config/schema.ts';
import { say } from '../output.ts';

const KINDS = Object.keys(CONFIG_SCHEMAS) as ProcessKind[];

/** Every kind's configuration, or one ConfigError with every problem across them (each once). */
export function loadEveryConfig(): { [K in ProcessKind]: ConfigFor<K> } {
  const parsed: Partial<Record<ProcessKind, unknown>> = {};
  const problems = new Map<string, ConfigProblem>();
  for (const kind of KINDS) {
    try {
      parsed[kind] = loadConfig(kind);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const p of err.problems) problems.set(`${p.variable}\n${p.message}`, p);
    }
  }
  if (problems.size) throw new ConfigError([...problems.values()]);
  return parsed as { [K in ProcessKind]: ConfigFor<K> };
}

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration of workers, the inference server, the console and the CLI, and print it (secrets redacted)')
    .option('--json', 'print JSON (the default; kept for scripts that pass it to every read command)')
    .action(() => {
      const all = loadEveryConfig();
      // One document: the worker's view (common settings, worker, serving) plus the server's and
      // the console's own.
      const config = { ...all.worker, serve: all.serve.serve, console: all.console.console };
      // Secret values print as [redacted] by themselves; URLs are plain strings, so their
      // passwords (http://user:pw@host) are taken out here, wherever they appear.
      say(JSON.stringify(config, (_key, value: unknown) => (typeof value === 'string' ? redactUrl(value) : value), 2));
    });
}
