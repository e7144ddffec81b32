// With FLYWHEEL_TRACING on, each `flywheel` command runs inside one root span (`flywheel <command>`),
// so a workflow it starts (StartWorkflow → RunWorkflow → RunActivity …) is one trace that begins
// at the terminal. The spans are flushed before the command exits.
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Command } from 'commander';
import { loadConfig } from '../lib/config/index.ts';
import { activeTracer, failSpan, SERVICE_NAMES, startTracing } from '../lib/telemetry/index.ts';

function commandPath(action: Command): string {
  const names: string[] = [];
  for (let c: Command | null = action; c?.parent; c = c.parent) names.unshift(c.name());
  return ['flywheel', ...names].join(' ');
}

/** Commands that run servers for as long as they live: each process they start traces under its
 * own service name (flywheel-serve, flywheel-worker), and a root span would never end. */
const LONG_RUNNING = new Set(['serve', 'dev', 'demo']);

/** The first command name in `argv` (after the global options, which take a value). */
export function commandName(argv: readonly string[], optionsWithValue: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (optionsWithValue.includes(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

function tracingConfig() {
  // Unset is the common case: off without parsing anything. A bad value is left for the
  // command's own loadConfig to report, with every other problem, the usual way.
  if (!process.env.FLYWHEEL_TRACING) return undefined;
  try {
    return loadConfig('cli').tracing;
  } catch {
    return undefined;
  }
}

/** Runs `run` (the parsed program) inside the command's root span when tracing is on. `argv` is
 * the command line after `node flywheel`. */
export async function runTraced(
  program: Command,
  argv: readonly string[],
  optionsWithValue: readonly string[],
  run: () => Promise<unknown>,
): Promise<void> {
  const name = commandName(argv, optionsWithValue);
  const tracing = name && LONG_RUNNING.has(name) ? undefined : startTracing(tracingConfig(), { serviceName: SERVICE_NAMES.cli });
  const tracer = activeTracer();
  if (!tracing || !tracer) {
    await run();
    return;
  }
  const span = tracer.startSpan('flywheel');
  program.hook('preAction', (_program, action) => {
    const name = commandPath(action);
    span.updateName(name);
    span.setAttribute('flywheel.command', name);
  });
  try {
    await context.with(trace.setSpan(context.active(), span), run);
    span.setStatus({ code: SpanStatusCode.OK });
  } catch (err) {
    failSpan(span, err);
    throw err;
  } finally {
    span.end();
    await tracing.shutdown();
  }
}
