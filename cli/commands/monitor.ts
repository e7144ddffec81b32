// `flywheel monitor …`: a served model's drift monitor (`monitor/<model>`): its state and last
// check, and a check on demand (the `checkNow` signal).
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Command } from 'commander';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { checkNowSignal, driftMonitorStatusQuery } from '../../workflows/drift-monitor.ts';
import { say, table } from '../output.ts';
import { withClient } from '../temporal-client.ts';

async function monitorStatus(client: Client, model: string) {
  try {
    return await client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(model)).query(driftMonitorStatusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`${model} has no drift monitor: it starts when the model first gets a champion (spec monitor.enabled)`);
    throw err;
  }
}

export function registerMonitorCommands(program: Command): void {
  const monitor = program.command('monitor').description("a served model's drift monitor: status, check now");

  monitor
    .command('status <model>')
    .description('checks run, alerts sent, the hysteresis state and the last check')
    .action((model: string) =>
      withClient(async (client) => {
        const s = await monitorStatus(client, model);
        const c = s.state.lastCheck;
        say(
          table([
            ['Monitor', WORKFLOW_IDS.driftMonitor(model)],
            ['Checks', `${s.state.checks} (${s.phase}${s.nextCheckAt ? `, next at ${s.nextCheckAt}` : ''})`],
            ['Alerts sent', `${s.state.alerts}${s.state.lastAlertAt ? `, last at ${s.state.lastAlertAt}` : ''}`],
            ['Hysteresis', `${s.state.armed ? 'armed' : 'disarmed'}; ${s.state.consecutiveBreaches} breaching / ${s.state.consecutiveClears} clean checks in a row`],
            ['Last check', c ? `${c.status} on v${c.championVersion ?? '?'} (${c.samples} predictions)${c.reasons.length ? ` — ${c.reasons.join('; ')}` : ''}` : 'none yet'],
            ...(c?.htmlUri ? [['Report', c.htmlUri] as [string, string]] : []),
          ]),
        );
      }),
    );

  monitor
    .command('check <model>')
    .description('run a check now instead of waiting for the interval')
    .action((model: string) =>
      withClient(async (client) => {
        await monitorStatus(client, model);
        await client.workflow.getHandle(WORKFLOW_IDS.driftMonitor(model)).signal(checkNowSignal, { reason: 'flywheel monitor check' });
        say(`Asked ${WORKFLOW_IDS.driftMonitor(model)} for a check; \`flywheel monitor status ${model}\` shows it when done.`);
      }),
    );
}
