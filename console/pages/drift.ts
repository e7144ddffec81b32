// Drift (`/models/:name/drift`): the monitor's checks over time (stored by the check activity in
// `monitor_checks`) as charts — drifted share against the threshold, which features drifted,
// label/prediction shift, the SLOs against their limits — the alerts, the cycles drift triggered,
// the monitor's own status (next check, why it is not alerting) and each check's HTML report.
import type { FastifyInstance } from 'fastify';
import { driftMonitorStatusQuery, type DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import { statusQuery, type CycleSummary, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { listChecks } from '../../lib/tracking/store.ts';
import type { MonitorCheckRecord } from '../../lib/tracking/types.ts';
import { chartSvg, driftedFeaturesSpec, driftShareSpec, shiftSpec, sloCharts, sloSpec } from '../charts.ts';
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import { MODEL_NAME } from './rollout.ts';

/** Checks charted per page: about a week at the default 5-minute interval would be 2,000; the
 * newest 300 keep the page light and still show a trend. */
export const CHECKS_CHARTED = 300;

/** Cycles of the lifecycle's recent history (and the running one) that a drift signal started. */
export function driftCycles(status: LifecycleStatus | undefined): CycleSummary[] {
  if (!status) return [];
  const cycles = [...status.history, ...(status.current ? [status.current] : [])];
  return cycles.filter((c) => c.triggers.some((t) => t.kind === 'drift')).reverse();
}

function monitorSection(ctx: ConsoleContext, model: string, status: DriftMonitorStatus | undefined, admin: boolean): Html {
  if (!status) return html`<p class="muted">No drift monitor is running for ${model} (it starts when the model first gets a champion).</p>`;
  const why = status.notAlertingBecause;
  const link = ctx.workflowLink(WORKFLOW_IDS.driftMonitor(model));
  return html`<dl class="kv monitor">
      <dt>Workflow</dt>
      <dd>${link ? html`<a href="${link}" rel="noopener">${WORKFLOW_IDS.driftMonitor(model)}</a>` : WORKFLOW_IDS.driftMonitor(model)}</dd>
      <dt>Phase</dt>
      <dd>${status.phase}</dd>
      <dt>Next check</dt>
      <dd>${status.nextCheckAt ?? '—'}</dd>
      <dt>Checks / alerts</dt>
      <dd>${status.state.checks} / ${status.state.alerts}${status.state.lastAlertAt ? ` (last ${status.state.lastAlertAt})` : ''}</dd>
      <dt>Armed</dt>
      <dd>${status.state.armed ? 'yes' : 'no'}</dd>
      <dt>Not alerting because</dt>
      <dd class="why">${why ? html`<code>${why.code}</code> ${why.message}` : 'the last check alerted'}</dd>
      <dt>Interval / window</dt>
      <dd>${String(status.monitor.interval)} / ${String(status.monitor.window)}</dd>
    </dl>
    ${
      admin
        ? html`<form
            data-action
            data-reload
            method="post"
            action="${`/api/models/${encodeURIComponent(model)}/monitor/check-now`}"
            class="action-check-now"
          >
            <button type="submit" class="primary">Check now</button>
            <div role="alert"></div>
          </form>`
        : ''
    }`;
}

async function reportLink(ctx: ConsoleContext, check: MonitorCheckRecord): Promise<Html> {
  const url = check.htmlUri ? await ctx.artifactLink(check.htmlUri).catch(() => undefined) : undefined;
  return url ? html`<a href="${url}" rel="noopener" class="report">drift.html</a>` : html`<span class="muted">—</span>`;
}

async function checksTable(ctx: ConsoleContext, checks: readonly MonitorCheckRecord[], caption: string): Promise<Html> {
  if (checks.length === 0) return html`<p class="muted">None.</p>`;
  const rows = await Promise.all(
    checks.map(
      async (c) =>
        html`<tr class="${c.breach ? 'breach' : ''}">
          <td>${c.at}</td>
          <td><span class="badge ${c.breach ? 'bad' : c.status === 'ok' ? 'ok' : ''}">${c.status}</span></td>
          <td>${c.championVersion !== null ? `v${c.championVersion}` : '—'}</td>
          <td class="num">${c.samples}</td>
          <td class="num">${c.drift ? `${(c.drift.share * 100).toFixed(0)}%` : '—'}</td>
          <td>${c.drift?.driftedFeatures.join(', ') ?? ''}</td>
          <td>${c.reasons.join('; ')}</td>
          <td>${await reportLink(ctx, c)}</td>
        </tr>`,
    ),
  );
  return html`<table class="checks">
    <caption class="muted">
      ${caption}
    </caption>
    <thead>
      <tr>
        <th>at</th>
        <th>status</th>
        <th>champion</th>
        <th class="num">samples</th>
        <th class="num">drifted</th>
        <th>drifted features</th>
        <th>reasons</th>
        <th>report</th>
      </tr>
    </thead>
    <tbody>
      ${rows}
    </tbody>
  </table>`;
}

function cyclesTable(ctx: ConsoleContext, cycles: readonly CycleSummary[]): Html {
  if (cycles.length === 0) return html`<p class="muted">No cycle was triggered by drift (in the lifecycle's recent history).</p>`;
  return html`<table class="drift-cycles">
    <thead>
      <tr>
        <th>cycle</th>
        <th>stage</th>
        <th>started</th>
        <th>version</th>
        <th>drift event</th>
      </tr>
    </thead>
    <tbody>
      ${cycles.map((c) => {
        const link = ctx.workflowLink(c.workflowId);
        const drift = c.triggers.find((t) => t.kind === 'drift');
        return html`<tr>
          <td>${link ? html`<a href="${link}" rel="noopener">${c.workflowId}</a>` : c.workflowId}</td>
          <td>${c.stage}</td>
          <td>${c.startedAt}</td>
          <td>${c.version !== undefined ? `v${c.version}` : '—'}</td>
          <td>${drift?.detail ?? drift?.eventId ?? ''}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

export async function renderDrift(
  ctx: ConsoleContext,
  model: string,
  checks: readonly MonitorCheckRecord[],
  monitor: DriftMonitorStatus | undefined,
  lifecycle: LifecycleStatus | undefined,
  admin: boolean,
): Promise<Html> {
  const settings = monitor?.monitor;
  const slos = sloCharts(checks, settings).map((chart) => ({ chart, spec: sloSpec(checks, chart) }));
  const unmeasured = slos.filter((s) => !s.spec).map((s) => s.chart.title.replace(/ \(.*\)$/, ''));
  const specs = [driftShareSpec(checks), driftedFeaturesSpec(checks), shiftSpec(checks, settings), ...slos.flatMap((s) => s.spec ?? [])];
  const charts =
    checks.length === 0
      ? html`<p class="muted">No checks recorded yet.</p>`
      : html`<div class="charts">
            ${await Promise.all(specs.map(async (spec) => html`<figure class="chart">${await chartSvg(spec)}</figure>`))}
          </div>
          ${unmeasured.length ? html`<p class="muted">Not measured by any check yet: ${unmeasured.join(', ')}.</p>` : ''}`;
  const alerts = checks.filter((c) => c.breach).reverse();
  return html`<h1>Drift of <a href="${`/models/${encodeURIComponent(model)}`}">${model}</a></h1>
    <h2>Monitor</h2>
    ${monitorSection(ctx, model, monitor, admin)}
    <h2>Checks over time (${checks.length})</h2>
    ${charts}
    <h2>Alerts (breaching checks)</h2>
    ${await checksTable(ctx, alerts.slice(0, 50), 'newest first')}
    <h2>Cycles triggered by drift</h2>
    ${cyclesTable(ctx, driftCycles(lifecycle))}
    <h2>Recent checks</h2>
    ${await checksTable(ctx, checks.slice(-20).reverse(), 'the newest 20, newest first')}`;
}

export function registerDriftRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Params: { name: string } }>('/models/:name/drift', async (req, reply) => {
    const model = req.params.name;
    if (!MODEL_NAME.test(model)) return reply.code(400).type('text/plain').send('bad model name');
    const [checks, monitor, lifecycle, principal] = await Promise.all([
      listChecks(ctx.db, model, { limit: CHECKS_CHARTED }),
      ctx.temporal.workflow
        .getHandle(WORKFLOW_IDS.driftMonitor(model))
        .query(driftMonitorStatusQuery)
        .catch(() => undefined),
      ctx.temporal.workflow
        .getHandle(WORKFLOW_IDS.modelLifecycle(model))
        .query(statusQuery)
        .catch(() => undefined),
      ctx.principal(req),
    ]);
    const body = await renderDrift(ctx, model, checks, monitor, lifecycle, principal !== undefined);
    return ctx.page(reply, { title: `Drift · ${model}`, nav: 'models', body });
  });
}
