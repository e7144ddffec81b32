// The `flywheel` CLI. Commands live in cli/commands; each registers itself here.
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ConfigError, ENV_VARS } from '../lib/config/index.ts';
import { exitOnFatal } from '../lib/fatal.ts';
import { registerBatchCommands } from './commands/batch.ts';
import { registerCiCommand } from './commands/ci.ts';
import { registerConfigCommand } from './commands/config.ts';
import { registerConsoleCommand } from './commands/console.ts';
import { registerDataCommands } from './commands/data.ts';
import { registerDevCommand } from './commands/dev.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerGitopsCommands } from './commands/gitops.ts';
import { registerInitCommand } from './commands/init.ts';
import { registerMonitorCommands } from './commands/monitor.ts';
import { registerRolloutCommands } from './commands/rollout.ts';
import { registerKeysCommands } from './commands/keys.ts';
import { registerModelCommands } from './commands/models.ts';
import { registerPipelineCommands } from './commands/pipeline.ts';
import { registerPromoteCommands } from './commands/promote.ts';
import { registerRunsCommands } from './commands/runs.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerTrafficCommands } from './commands/traffic.ts';
import { CliError, EXIT_CODES_HELP, warn } from './output.ts';
import { runTraced } from './tracing.ts';

// Piping into `head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Options every command accepts, before or after its name (like `temporal` and kubectl). */
const GLOBAL_OPTIONS = [
  { flags: '--address <host:port>', help: 'Temporal frontend address (overrides TEMPORAL_ADDRESS)', variable: 'TEMPORAL_ADDRESS' },
  { flags: '--namespace <name>', help: 'Temporal namespace (overrides TEMPORAL_NAMESPACE)', variable: 'TEMPORAL_NAMESPACE' },
] as const;

const program = new Command()
  .name('flywheel')
  .description('Flywheel: the durable model lifecycle on Temporal')
  .version(version, '-V, --version', 'print the version')
  // Root options stop at the command name, so `batch start --version 3` stays the model version;
  // the global options are copied onto every leaf command (hidden) to work after its name too.
  .enablePositionalOptions()
  .configureHelp({ showGlobalOptions: true })
  .addHelpText('after', EXIT_CODES_HELP)
  .showHelpAfterError();
for (const o of GLOBAL_OPTIONS) program.option(o.flags, o.help);

registerDevCommand(program);
registerDemoCommand(program);
registerInitCommand(program);
registerRolloutCommands(program);
registerMonitorCommands(program);
registerConfigCommand(program);
registerDataCommands(program);
registerModelCommands(program);
registerRunsCommands(program);
registerBatchCommands(program);
registerServeCommand(program);
registerConsoleCommand(program);
registerPipelineCommands(program);
registerKeysCommands(program);
registerTrafficCommands(program);
registerCiCommand(program);
registerGitopsCommands(program);
registerPromoteCommands(program);

function* subcommands(command: Command): Generator<Command> {
  for (const sub of command.commands) {
    yield sub;
    yield* subcommands(sub);
  }
}

for (const command of subcommands(program)) {
  if (command.commands.length > 0) continue; // groups pass everything on to their commands
  for (const o of GLOBAL_OPTIONS) {
    const option = new Option(o.flags, o.help).hideHelp();
    if (!command.options.some((existing) => existing.long === option.long)) command.addOption(option);
  }
}

// The global options become the environment every command's loadConfig reads (and children
// such as the dev stack's workers inherit), checked the way the variable itself would be.
program.hook('preAction', (_program, action) => {
  const opts = action.optsWithGlobals<{ address?: string; namespace?: string }>();
  const given = { TEMPORAL_ADDRESS: opts.address, TEMPORAL_NAMESPACE: opts.namespace };
  const problems = [];
  for (const o of GLOBAL_OPTIONS) {
    const value = given[o.variable];
    if (value === undefined) continue;
    if (ENV_VARS[o.variable].schema.safeParse(value).success) process.env[o.variable] = value;
    else
      problems.push({
        variable: o.flags.split(' ')[0]!,
        message: `expected ${ENV_VARS[o.variable].expected}; got ${JSON.stringify(value)}`,
      });
  }
  if (problems.length) throw new ConfigError(problems);
});

function exitOnCliError(err: unknown): never {
  if (!(err instanceof CliError)) return exitOnFatal(err);
  const verbose = ['debug', 'trace'].includes(process.env.FLYWHEEL_LOG_LEVEL ?? '');
  warn(
    verbose
      ? String(err.stack ?? err.message) + (err.cause instanceof Error ? `\ncause: ${err.cause.stack ?? err.cause.message}` : '')
      : `error: ${err.message}`,
  );
  process.exit(err.exitCode);
}

await runTraced(
  program,
  process.argv.slice(2),
  GLOBAL_OPTIONS.map((o) => o.flags.split(' ')[0]!),
  () => program.parseAsync(process.argv),
).catch(exitOnCliError);
