// `flywheel demo` (`npm run demo`): the whole loop on the real flights data with embedded
// defaults — see lib/demo/run.ts for the story and README "The demo" for what to look at.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { runDemo } from '../../lib/demo/run.ts';
import { createLogger } from '../../lib/log.ts';
import { installTemporalRuntime } from '../../lib/worker/runtime.ts';
import { say } from '../output.ts';

interface DemoOpts {
  port: string;
  uiPort: string;
  servePort: string;
  rate: string;
  keepRunning?: boolean;
}

function positiveInt(value: string, flag: string, max = 65535): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${flag} must be an integer 1–${max}, got ${value}`);
  return n;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the whole loop on the real flights data: train, canary under replayed traffic, promote, drift, retrain (about 10 minutes)')
    .option('--port <port>', 'Temporal frontend port on 127.0.0.1', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port on 127.0.0.1', '8233')
    .option('--serve-port <port>', 'inference server port on 127.0.0.1', '8080')
    .option('--rate <rps>', 'replayed prediction requests per second', '50')
    .option('--keep-running', 'keep the stack (Web UI, server, workers) up after the summary')
    .action(async (opts: DemoOpts) => {
      const config = loadConfig('worker');
      const level = process.env.FLYWHEEL_LOG_LEVEL ? config.logLevel : 'error';
      const logger = createLogger({ level, base: { process: 'flywheel-demo' } });
      installTemporalRuntime(logger, level);
      await runDemo({
        port: positiveInt(opts.port, '--port'),
        uiPort: positiveInt(opts.uiPort, '--ui-port'),
        servePort: positiveInt(opts.servePort, '--serve-port'),
        rate: positiveInt(opts.rate, '--rate', 500),
        keepRunning: opts.keepRunning === true,
        logger,
        out: say,
      });
    });
}
