// `/`: every registered model with its champion and challenger, what its lifecycle is doing, how
// its last cycle ended and whether its drift monitor is alerting.
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';
import { html } from '../html.ts';
import { fmtTime, lifecycleState, modelsOverview, type ModelOverview } from '../read-model.ts';
import { badge, cycleOutcome, temporalNote, versionLink, workflowAnchor } from './common.ts';

function row(ctx: ConsoleContext, m: ModelOverview) {
  const name = m.model.name;
  const drift = m.drift
    ? html`${m.drift.breach ? badge('alert', 'bad') : badge(m.drift.status)} <span class="muted">${fmtTime(m.drift.at)}</span>`
    : html`<span class="muted">no checks</span>`;
  return html`<tr data-model="${name}">
    <td>
      <a href="/models/${encodeURIComponent(name)}"><strong>${name}</strong></a
      >${m.model.description ? html`<div class="muted">${m.model.description}</div>` : ''}
    </td>
    <td>${versionLink(name, m.champion)}</td>
    <td>${versionLink(name, m.challenger)}</td>
    <td class="num">${m.model.latestVersion ?? '–'}</td>
    <td>
      ${m.lifecycle ? html`${badge(lifecycleState(m.lifecycle, m.lastCycle) ?? 'running')} ${workflowAnchor(ctx, m.lifecycle.workflowId, undefined, '')}` : html`<span class="muted">not running</span>`}
    </td>
    <td>
      ${m.lastCycle ? html`${cycleOutcome(m.lastCycle)} ${workflowAnchor(ctx, m.lastCycle.workflowId, m.lastCycle.runId)} <span class="muted">${fmtTime(m.lastCycle.closeTime ?? m.lastCycle.startTime)}</span>` : html`<span class="muted">–</span>`}
    </td>
    <td>${drift}</td>
  </tr>`;
}

export function registerModelsRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/', async (_req, reply) => {
    const overview = await modelsOverview(ctx);
    const body = html`<h1>Models</h1>
      ${temporalNote(overview.temporalError)}
      ${
        overview.models.length === 0
          ? html`<p class="muted">
              No models registered yet. Train one with <code>flywheel demo</code> or <code>flywheel pipeline start</code>.
            </p>`
          : html`<table class="models">
              <thead>
                <tr>
                  <th>model</th>
                  <th>champion</th>
                  <th>challenger</th>
                  <th class="num">versions</th>
                  <th>lifecycle</th>
                  <th>last cycle</th>
                  <th>drift</th>
                </tr>
              </thead>
              <tbody>
                ${overview.models.map((m) => row(ctx, m))}
              </tbody>
            </table>`
      }`;
    return ctx.page(reply, { title: 'Models', nav: 'models', body });
  });
}
