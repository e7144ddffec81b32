// The `flywheel` CLI. Commands live in cli/commands; each registers itself here.
import { Command } from 'commander';
import { exitOnFatal } from '../lib/fatal.ts';
import { registerBatchCommands } from './commands/batch.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerDataCommands } from './commands/data.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerMonitorCommands } from './commands/monitor.ts';
import { registerRolloutCommands } from './commands/rollout.ts';
import { registerKeysCommands } from './commands/keys.ts';
import { registerModelCommands } from './commands/models.ts';
import { registerPipelineCommands } from './commands/pipeline.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTrafficCommands } from './commands/traffic.ts';

// Piping into `head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command()
  .name('flywheel')
  .description('Flywheel: the durable model lifecycle on Temporal')
  .showHelpAfterError();

registerDevCommand(program);
registerDemoCommand(program);
registerRolloutCommands(program);
registerMonitorCommands(program);
registerConfigCommand(program);
registerDataCommands(program);
registerModelCommands(program);
registerBatchCommands(program);
registerServeCommand(program);
registerPipelineCommands(program);
registerKeysCommands(program);
registerTrafficCommands(program);

await program.parseAsync(process.argv).catch(exitOnFatal);
