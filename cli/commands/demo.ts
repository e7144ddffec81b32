// `flywheel demo` (`npm run demo`): the whole loop on the real flights data with embedded
// defaults — see cli/demo/runner.ts for the story and README "The demo" for what to look at.
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.ts';
import { DEMO_PROFILES, runDemo } from '../demo/runner.ts';
import { createLogger } from '../../lib/log.ts';
import { installTemporalRuntime } from '../../lib/temporal/runtime.ts';
import { say } from '../output.ts';
import { parsePort } from './dev.ts';

interface DemoOpts {
  port: string;
  uiPort: string;
  servePort: string;
  rate: string;
  keepRunning?: boolean;
  quick?: boolean;
  jsonSummary?: string;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new Error(`--rate must be an integer 1–500 requests/s, got ${value}`);
  return n;
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the whole loop on the real flights data: train, canary under replayed traffic, promote, drift, retrain (about 5 minutes on two cores)',
    )
    .option('--port <port>', 'Temporal frontend port on 127.0.0.1', '7233')
    .option('--ui-port <port>', 'Temporal Web UI port on 127.0.0.1', '8233')
    .option('--serve-port <port>', 'inference server port on 127.0.0.1', '8080')
    .option('--rate <rps>', 'replayed prediction requests per second', '50')
    .option('--keep-running', 'keep the stack (Web UI, server, workers) up after the summary and print an API key for it')
    .option('--quick', 'the same loop on a compressed spec (smaller training sets, holds of seconds): about 3 minutes')
    .option('--json-summary <file>', 'also write the summary (cycles, traffic, reports) as JSON to this file')
    .action(async (opts: DemoOpts) => {
      const config = loadConfig('worker');
      const level = process.env.FLYWHEEL_LOG_LEVEL ? config.logLevel : 'error';
      const logger = createLogger({ level, base: { process: 'flywheel-demo' } });
      installTemporalRuntime(logger, level);
      await runDemo({
        port: parsePort(opts.port, '--port'),
        uiPort: parsePort(opts.uiPort, '--ui-port'),
        servePort: parsePort(opts.servePort, '--serve-port'),
        rate: parseRate(opts.rate),
        keepRunning: opts.keepRunning === true,
        profile: opts.quick ? DEMO_PROFILES.quick : DEMO_PROFILES.full,
        ...(opts.jsonSummary ? { jsonSummaryPath: opts.jsonSummary } : {}),
        logger,
        out: say,
      });
    });
}
