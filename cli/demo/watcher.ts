// What the demo prints while it waits: the lifecycle's stage, the rollout's steps and the drift
// monitor's checks, each line once.
import type { Client } from '@temporalio/client';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { sleep } from '../../lib/time/sleep.ts';
import { driftMonitorStatusQuery, type DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import { statusQuery, type CycleSummary, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';
import { rolloutStatusQuery, type RolloutStatus } from '../../lib/contracts/rollout.ts';

/** Polls the lifecycle, the current cycle's rollout and the drift monitor; prints what changed. */
export function createWatcher(client: Client, model: string, say: (l: string) => void, running: Promise<void>) {
  const lifecycle = client.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
  // Ctrl-C stops the workers, or the GPU worker process dies: nothing more will happen, say so.
  let stopped: Error | undefined;
  running.then(
    () => (stopped = new Error('the workers stopped (Ctrl-C?) before the demo finished')),
    (err: unknown) => (stopped = err instanceof Error ? err : new Error(String(err))),
  );
  let lastLine = '';
  const seenChecks = new Set<number>();
  const driftReports: string[] = [];
  const print = (line: string) => {
    if (line !== lastLine) say(line);
    lastLine = line;
  };

  async function poll(): Promise<LifecycleStatus> {
    if (stopped) throw stopped;
    const s = await lifecycle.query(statusQuery);
    const c = s.current;
    if (c) {
      let line = `cycle ${c.cycle} (${c.triggers.map((t) => t.kind).join('+')}): ${c.stage}${c.detail ? ` — ${c.detail}` : ''}`;
      if (c.stage === 'rollout' && c.version) {
        const r = await client.workflow
          .getHandle(WORKFLOW_IDS.rollout(model, c.version))
          .query(rolloutStatusQuery)
          .catch((): RolloutStatus | undefined => undefined);
        if (r)
          line = `cycle ${c.cycle}: rollout of v${r.challenger} step ${Math.min(r.step + 1, r.steps)}/${r.steps} ${r.state}${r.last ? `, last check ${r.last.verdict} (challenger ${r.last.challengerSamples} / champion ${r.last.championSamples} predictions)` : ''}`;
      }
      print(line);
    }
    const m = await client.workflow
      .getHandle(WORKFLOW_IDS.driftMonitor(model))
      .query(driftMonitorStatusQuery)
      .catch((): DriftMonitorStatus | undefined => undefined);
    const check = m?.state.lastCheck;
    if (m && check && !seenChecks.has(m.state.checks)) {
      seenChecks.add(m.state.checks);
      if (check.htmlUri && check.status === 'breach') driftReports.push(check.htmlUri);
      const drift = check.status === 'breach' || !check.drift ? check.reasons.join('; ') : check.drift.summary;
      print(
        `drift check ${m.state.checks} on v${check.championVersion ?? '?'} (${check.samples} predictions): ${check.status}${drift ? ` — ${drift}` : ''}${m.state.alerts ? ` [alerts sent: ${m.state.alerts}]` : ''}`,
      );
    }
    return s;
  }

  return {
    driftReports,
    async cycleEnded(cycle: number, timeoutMs: number): Promise<CycleSummary> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const s = await poll();
        const ended = s.history.find((c) => c.cycle === cycle);
        if (ended) return ended;
        await sleep(1000);
      }
      throw new Error(`cycle ${cycle} of ${model} did not end within ${timeoutMs / 60_000} minutes`);
    },
    async cycleStarted(match: (c: CycleSummary) => boolean, timeoutMs: number): Promise<CycleSummary> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const s = await poll();
        const c = [...s.history, ...(s.current ? [s.current] : [])].find(match);
        if (c) return c;
        await sleep(1000);
      }
      throw new Error(`no cycle of ${model} started by drift within ${timeoutMs / 60_000} minutes`);
    },
  };
}
