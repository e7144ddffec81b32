// The `flywheel` CLI. Commands live in cli/commands; each registers itself here.
import { Command } from 'commander';
import { exitOnFatal } from '../lib/fatal.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerDevCommand } from './commands/dev.ts';

const program = new Command()
  .name('flywheel')
  .description('Flywheel: the durable model lifecycle on Temporal')
  .showHelpAfterError();

registerDevCommand(program);
registerConfigCommand(program);

await program.parseAsync(process.argv).catch(exitOnFatal);
