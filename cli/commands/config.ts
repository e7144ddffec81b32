// `flywheel config`: parses the configuration exactly as a worker would and prints it, secrets
// redacted, so a user can check what a process will see before starting it.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { say } from '../output.ts';

export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the environment configuration and print it (secrets redacted)')
    .action(() => {
      const config = loadConfig('worker');
      say(JSON.stringify(config, null, 2));
    });
}
