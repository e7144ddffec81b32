// `flywheel serve`: the inference server in the foreground (configured by FLYWHEEL_SERVE_*).
import type { Command } from 'commander';
import { runServeProcess } from '../../serving/main.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve registered ONNX models over HTTP (see serving/README.md)')
    .option('--port <port>', 'listen port (default: FLYWHEEL_SERVE_PORT or 8080)')
    .action(async (opts: { port?: string }) => {
      const port = opts.port === undefined ? undefined : Number(opts.port);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
        throw new Error(`--port must be 0–65535, got ${opts.port}`);
      await runServeProcess(process.env, port === undefined ? {} : { port });
    });
}
