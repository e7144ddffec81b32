// `flywheel monitor …`: a served model's drift monitor (`monitor/<model>`): its state and last
// check, and a check on demand (the `checkNow` signal), waited for like `kubectl rollout status`.
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { CliError, printJson, say, table } from '../output.ts';
import { isClosed, withClient, workflowResult } from '../temporal-client.ts';
import { parseDurationMs } from '../../lib/time/duration.ts';
import { checkNowSignal, driftMonitorStatusQuery, type DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';

async function monitorStatus(client: Client, model: string) {
  try {
    return await client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(model)).query(driftMonitorStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError)
      throw new Error(`${model} has no drift monitor: it starts when the model first gets a champion (spec monitor.enabled)`);
    throw err;
  }
}

/** Why the monitor is not alerting; monitors from before the field existed say nothing. */
function notAlerting(s: DriftMonitorStatus): string {
  if (s.notAlertingBecause === undefined) return 'unknown (the monitor predates this field)';
  if (s.notAlertingBecause === null) return 'it alerted on the last check';
  return s.notAlertingBecause.message;
}

function render(s: DriftMonitorStatus): string {
  const c = s.state.lastCheck;
  return table([
    ['Monitor', WORKFLOW_IDS.driftMonitor(s.model)],
    ['Checks', `${s.state.checks} (${s.phase}${s.nextCheckAt ? `, next at ${s.nextCheckAt}` : ''})`],
    ['Alerts sent', `${s.state.alerts}${s.state.lastAlertAt ? `, last at ${s.state.lastAlertAt}` : ''}`],
    [
      'Hysteresis',
      `${s.state.armed ? 'armed' : 'disarmed'}; ${s.state.consecutiveBreaches} breaching / ${s.state.consecutiveClears} clean checks in a row`,
    ],
    [
      'Last check',
      c
        ? `${c.status} on v${c.championVersion ?? '?'} (${c.samples} predictions)${c.reasons.length ? ` — ${c.reasons.join('; ')}` : ''}`
        : 'none yet',
    ],
    ['Not alerting', notAlerting(s)],
    ...(c?.htmlUri ? [['Report', c.htmlUri] as [string, string]] : []),
    ...(s.refusedTotal
      ? [['Refused signals', `${s.refusedTotal}; last: ${s.refused.at(-1)?.handler} at ${s.refused.at(-1)?.at}`] as [string, string]]
      : []),
  ]);
}

function timeoutOption(value: string): number {
  try {
    return parseDurationMs(value, { bareUnit: 's' });
  } catch (err) {
    throw new Error(`--timeout: ${(err as Error).message}`);
  }
}

/** Polls until the monitor has counted a check after `before`; the monitor ending stops the wait. */
async function waitForCheck(handle: WorkflowHandle, before: DriftMonitorStatus, timeoutMs: number): Promise<DriftMonitorStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await handle.describe();
    if (isClosed(status.name)) {
      await workflowResult(handle); // throws for failed, cancelled, terminated, timed out
      throw new CliError(`${handle.workflowId} ended ${status.name} before the check ran`);
    }
    const now = await handle.query(driftMonitorStatusQuery);
    if (now.state.checks > before.state.checks) {
      // The monitor counts a check whose activity failed, but it judged nothing.
      if (now.state.lastCheck?.checkId === before.state.lastCheck?.checkId)
        throw new CliError(`the check on ${handle.workflowId} could not run (the worker's log says why); nothing was judged`);
      return now;
    }
    if (Date.now() >= deadline)
      throw new CliError(
        `no check finished on ${handle.workflowId} within ${Math.round(timeoutMs / 1000)} s (it is ${now.phase}); \`flywheel monitor status ${now.model}\` shows it later`,
      );
    await sleep(1000);
  }
}

export function registerMonitorCommands(program: Command): void {
  const monitor = program.command('monitor').description("a served model's drift monitor: status, check now");

  monitor
    .command('status <model>')
    .description('checks run, alerts sent, the hysteresis state and the last check')
    .option('--json', 'print the status Query result as JSON')
    .action((model: string, opts: { json?: boolean }) =>
      withClient(async (client) => {
        const s = await monitorStatus(client, model);
        if (opts.json) printJson(s);
        else say(render(s));
      }),
    );

  monitor
    .command('check <model>')
    .description('run a check now and wait for its verdict (a breach is a finding, not a failure: exit 0)')
    .option('--no-wait', 'ask for the check and return at once')
    .option('--timeout <duration>', 'stop waiting after this long (30s, 5m); the check still runs', '10m')
    .option('--json', 'print the status after the check as JSON')
    .action((model: string, opts: { wait: boolean; timeout: string; json?: boolean }) => {
      const timeoutMs = timeoutOption(opts.timeout);
      return withClient(async (client) => {
        const before = await monitorStatus(client, model);
        const handle = client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(model));
        await handle.signal(checkNowSignal, { reason: 'flywheel monitor check' });
        if (!opts.wait) {
          if (opts.json) printJson({ workflowId: handle.workflowId, requested: true });
          else say(`Asked ${handle.workflowId} for a check; \`flywheel monitor status ${model}\` shows it when done.`);
          return;
        }
        const after = await waitForCheck(handle, before, timeoutMs);
        if (opts.json) printJson(after);
        else say(render(after));
      });
    });
}
