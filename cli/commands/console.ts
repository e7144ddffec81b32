// `flywheel console`: the web console in the foreground (configured by FLYWHEEL_CONSOLE_*), until
// SIGINT/SIGTERM. docs/console.md describes its pages, sign-in and settings.
import type { Command } from 'commander';
import { startConsoleProcess } from '../../console/main.ts';
import { say } from '../output.ts';
import { parsePort } from './dev.ts';

export function registerConsoleCommand(program: Command): void {
  program
    .command('console')
    .description('serve the web console: models, versions, lineage, runs, comparisons, rollouts, drift (docs/console.md)')
    .option('--port <port>', 'listen port (default: FLYWHEEL_CONSOLE_PORT or 8288)')
    .option('--host <address>', 'listen address (default: FLYWHEEL_CONSOLE_HOST or 127.0.0.1)')
    .action(async (opts: { port?: string; host?: string }) => {
      const console = await startConsoleProcess(process.env, {
        ...(opts.port !== undefined ? { port: parsePort(opts.port, '--port') } : {}),
        ...(opts.host !== undefined ? { host: opts.host } : {}),
      });
      say(`Flywheel console: ${console.url}`);
      say('Actions need an admin API key (flywheel keys create --name you --scopes admin). Ctrl-C stops.');
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      say('Stopping…');
      await console.close();
    });
}
