// `/runs` and `/runs/:runId`: the training runs Flywheel tracked (parameters, per-epoch metrics as
// a chart rendered to SVG on the server, system info, artifacts, test metrics, the version it became).
import type { FastifyInstance } from 'fastify';
import { getRun, listRuns } from '../../lib/tracking/store.ts';
import type { RunEpoch, TrainingRunRecord } from '../../lib/tracking/types.ts';
import type { ConsoleContext } from '../context.ts';
import { chartSvg, epochsSpec } from '../charts.ts';
import { html, type Html } from '../html.ts';
import { fmtMetric, fmtTime } from '../read-model.ts';
import { badge, versionLink, workflowAnchor } from './common.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';

const PAGE_SIZE = 100;

/** Learning curves as a chart (epochsSpec), or a note when no epoch reported a metric. */
export async function epochsChart(
  runs: ReadonlyArray<{ series: string; epochs: readonly RunEpoch[] }>,
  metrics?: readonly string[],
): Promise<Html> {
  const spec = epochsSpec(runs, metrics);
  if (!spec) return html`<p class="muted">No per-epoch metrics recorded.</p>`;
  return html`<figure class="chart">${await chartSvg(spec)}</figure>`;
}

function headline(run: TrainingRunRecord): string {
  const key = ['rocAuc', 'accuracy', 'rmse'].find((k) => k in run.metrics);
  return key ? `${key} ${fmtMetric(run.metrics[key])}` : '';
}

function table(entries: Array<[string, unknown]>): Html {
  if (entries.length === 0) return html`<p class="muted">none</p>`;
  return html`<table>
    <tbody>
      ${entries.map(
        ([k, v]) =>
          html`<tr>
            <th>${k}</th>
            <td class="${typeof v === 'number' ? 'num' : ''}">
              ${typeof v === 'number' ? fmtMetric(v) : typeof v === 'string' ? v : JSON.stringify(v)}
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function registerRunRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Querystring: { model?: string; page?: string } }>('/runs', async (req, reply) => {
    const page = Math.max(0, Number.parseInt(req.query.page ?? '0', 10) || 0);
    const model = req.query.model || undefined;
    const runs = await listRuns(ctx.db, { ...(model ? { model } : {}), limit: PAGE_SIZE + 1, offset: page * PAGE_SIZE });
    const more = runs.length > PAGE_SIZE;
    const q = model ? `model=${encodeURIComponent(model)}&` : '';
    const body = html`<h1>Training runs${model ? html` of <a href="/models/${encodeURIComponent(model)}">${model}</a>` : ''}</h1>
      ${
        runs.length
          ? html`<table class="runs">
              <thead>
                <tr>
                  <th>run</th>
                  <th>model</th>
                  <th>dataset</th>
                  <th>trainer</th>
                  <th>gates</th>
                  <th>headline</th>
                  <th>version</th>
                  <th>recorded</th>
                </tr>
              </thead>
              <tbody>
                ${runs.slice(0, PAGE_SIZE).map(
                  (r) =>
                    html`<tr>
                      <td><a href="/runs/${encodeURIComponent(r.runId)}">${r.runId}</a></td>
                      <td><a href="/models/${encodeURIComponent(r.model)}">${r.model}</a></td>
                      <td><code>${r.datasetVersion}</code></td>
                      <td>${r.trainer}</td>
                      <td>${badge(r.status)}</td>
                      <td>${headline(r)}</td>
                      <td>${versionLink(r.model, r.version)}</td>
                      <td>${fmtTime(r.recordedAt)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="muted">No training runs recorded yet.</p>`
      }
      <p>
        ${page > 0 ? html`<a href="/runs?${q}page=${page - 1}">← newer</a> ` : ''}${more ? html`<a href="/runs?${q}page=${page + 1}">older →</a>` : ''}
      </p>`;
    return ctx.page(reply, { title: 'Runs', nav: 'runs', body });
  });

  app.get<{ Params: { runId: string } }>('/runs/:runId', async (req, reply) => {
    const run = await getRun(ctx.db, req.params.runId);
    if (!run) return reply.callNotFound();
    const artifacts: Html[] = [];
    for (const [name, uri] of Object.entries(run.artifacts)) {
      const href = await ctx.artifactLink(uri);
      artifacts.push(
        html`<tr>
          <th>${name}</th>
          <td>${href ? html`<a href="${href}" rel="noopener">${uri}</a>` : html`<code>${uri}</code>`}</td>
        </tr>`,
      );
    }
    const body = html`<h1>Run ${run.runId}</h1>
      <dl class="kv">
        <dt>model</dt>
        <dd><a href="/models/${encodeURIComponent(run.model)}">${run.model}</a></dd>
        <dt>version</dt>
        <dd>${versionLink(run.model, run.version)}</dd>
        <dt>gates</dt>
        <dd>${badge(run.status)} ${run.summary}</dd>
        <dt>dataset</dt>
        <dd><code>${run.datasetVersion}</code></dd>
        <dt>trainer</dt>
        <dd>${run.trainer}</dd>
        <dt>workflow</dt>
        <dd>${workflowAnchor(ctx, WORKFLOW_IDS.trainModel(run.model, run.datasetVersion))}</dd>
        <dt>started</dt>
        <dd>${fmtTime(run.startedAt)}</dd>
        <dt>recorded</dt>
        <dd>${fmtTime(run.recordedAt)}</dd>
        ${
          run.mlflowRunId
            ? html`<dt>MLflow run</dt>
                <dd><code>${run.mlflowRunId}</code></dd>`
            : ''
        }
      </dl>
      <h2>Learning curves</h2>
      ${await epochsChart([{ series: run.runId, epochs: run.epochs }])}
      <div class="charts">
        <section>
          <h2>Metrics (test set)</h2>
          ${table(Object.entries(run.metrics).sort(([a], [b]) => a.localeCompare(b)))}
        </section>
        <section>
          <h2>Parameters</h2>
          ${table(Object.entries(run.params).sort(([a], [b]) => a.localeCompare(b)))}
        </section>
        <section>
          <h2>System</h2>
          ${run.system ? table(Object.entries(run.system)) : html`<p class="muted">not recorded</p>`}
        </section>
      </div>
      <h2>Artifacts</h2>
      ${
        artifacts.length
          ? html`<table>
              <tbody>
                ${artifacts}
              </tbody>
            </table>`
          : html`<p class="muted">none</p>`
      }`;
    return ctx.page(reply, { title: `Run ${run.runId}`, nav: 'runs', body });
  });
}
