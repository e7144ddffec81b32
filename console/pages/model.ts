// `/models/:name`: one model's versions with task-appropriate metrics side by side (pick some to
// compare), alias history and approvals (who, when, why), the lineage of each version (dataset →
// validation report → training run → version → rollout) and links into the Temporal Web UI for
// every workflow of the model.
import type { FastifyInstance } from 'fastify';
import { ModelNotFoundError, type ModelVersion } from '../../lib/registry/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { getRuns } from '../../lib/tracking/store.ts';
import type { TrainingRunRecord } from '../../lib/tracking/types.ts';
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import {
  fmtMetric,
  fmtTime,
  latestChecks,
  lifecycleState,
  listWorkflows,
  newestByModel,
  quote,
  taskOf,
  TASK_METRICS,
  type WorkflowRow,
} from '../read-model.ts';
import { lifecycleStateForms, lifecycleStatusOf, modelApprovalPanel } from './approvals.ts';
import { badge, cycleOutcome, temporalNote, workflowAnchor } from './common.ts';

/** Cycle stages at or past the rollout: the version had a rollout workflow. */
const ROLLED = new Set(['rollout', 'promote', 'promoted', 'rolled-back']);

async function artifactAnchor(ctx: ConsoleContext, label: string, uri: string | undefined): Promise<Html | ''> {
  if (!uri) return '';
  const href = await ctx.artifactLink(uri);
  return href ? html`<a href="${href}" rel="noopener">${label}</a>` : html`<span title="${uri}">${label}</span>`;
}

async function lineage(
  ctx: ConsoleContext,
  v: ModelVersion,
  run: TrainingRunRecord | undefined,
  cycle: WorkflowRow | undefined,
  workflows: Set<string>,
) {
  const validation = run?.artifacts.validationReport;
  const manifest = run?.artifacts.datasetManifest;
  // A cycle's run key is `training/<train workflow id>` (workflows/train-model.ts).
  const trainWorkflowId = v.runId.startsWith('training/') ? v.runId.slice('training/'.length) : undefined;
  const rolloutId = WORKFLOW_IDS.rollout(v.model, v.version);
  const rolledOut = workflows.has(rolloutId) || (cycle?.stage !== undefined && ROLLED.has(cycle.stage));
  const report = run?.artifacts.report;
  return html`<li>
      <span class="muted">dataset</span> <code>${v.lineage.datasetVersion}</code> ${await artifactAnchor(ctx, 'manifest', manifest)}
    </li>
    ${validation ? html`<li>${await artifactAnchor(ctx, 'validation report', validation)}</li>` : ''}
    <li>
      <span class="muted">training</span>
      ${run ? html`<a href="/runs/${encodeURIComponent(v.runId)}">run ${v.runId}</a>` : html`<code>${v.runId}</code>`}
      ${trainWorkflowId ? workflowAnchor(ctx, trainWorkflowId, undefined, 'train') : ''}
    </li>
    ${v.gateReportUri || report ? html`<li>${await artifactAnchor(ctx, 'gates', v.gateReportUri)} ${await artifactAnchor(ctx, 'evaluation report', report)}</li>` : ''}
    <li><strong>v${v.version}</strong> ${await artifactAnchor(ctx, 'model', v.artifactUri)}</li>
    ${cycle ? html`<li><span class="muted">cycle</span> ${workflowAnchor(ctx, cycle.workflowId, cycle.runId)} ${cycleOutcome(cycle)}</li>` : ''}
    ${rolledOut ? html`<li><span class="muted">rollout</span> ${workflowAnchor(ctx, rolloutId)} <a href="/models/${encodeURIComponent(v.model)}/rollouts/${v.version}">live view</a></li>` : ''}`;
}

export function registerModelRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Params: { name: string } }>('/models/:name', async (req, reply) => {
    const name = req.params.name;
    let model;
    try {
      model = await ctx.registry.getModel(name);
    } catch (err) {
      if (err instanceof ModelNotFoundError) return reply.callNotFound();
      throw err;
    }
    const [versions, moves, approvals, workflows, checks, principal] = await Promise.all([
      ctx.registry.searchVersions(name),
      ctx.registry.aliasHistory(name),
      ctx.registry.approvals(name),
      listWorkflows(ctx.temporal, `FlywheelModel = ${quote(name)}`, 500),
      latestChecks(ctx.db, [name]),
      ctx.principal(req),
    ]);
    const runs = new Map(
      (
        await getRuns(
          ctx.db,
          versions.map((v) => v.runId),
        )
      ).map((r) => [r.runId, r]),
    );
    const task = taskOf(versions);
    const columns = TASK_METRICS[task];
    const ids = new Set(workflows.rows.map((w) => w.workflowId));
    const cycleOf = new Map<number, WorkflowRow>();
    for (const w of workflows.rows)
      if (
        w.type === 'modelCycle' &&
        w.version !== undefined &&
        (!cycleOf.has(w.version) || cycleOf.get(w.version)!.startTime < w.startTime)
      )
        cycleOf.set(w.version, w);
    const lifecycle = workflows.rows.find((w) => w.type === 'modelLifecycle' && w.status === 'RUNNING');
    const newestCycle = newestByModel(workflows.rows.filter((w) => w.type === 'modelCycle')).get(name);
    const best = new Map<string, number>();
    for (const c of columns) {
      const values = versions.map((v) => v.metrics[c.key]).filter((x): x is number => x !== undefined && Number.isFinite(x));
      if (values.length > 1) best.set(c.key, c.higherIsBetter ? Math.max(...values) : Math.min(...values));
    }
    const drift = checks.get(name);
    // One status Query, only when it shows something: a lifecycle visibility says is waiting (its
    // approval panel), or an admin's page (pause / resume / retire forms need the desired state,
    // which visibility does not carry). Bounded by the pages' Temporal timeout.
    const admin = principal !== undefined;
    const status =
      lifecycle && (admin || lifecycle.stage === 'awaiting-approval') ? await lifecycleStatusOf(ctx.temporal, name) : undefined;
    const approvalPanel = status?.pendingApproval ? await modelApprovalPanel(ctx, name, admin, status) : html``;
    const stateForms = admin && status ? lifecycleStateForms(name, status.desiredState ?? 'active') : '';
    const encoded = encodeURIComponent(name);

    const versionRows = versions.map(
      (v) =>
        html`<tr id="v${v.version}">
          <td><input type="checkbox" name="versions" value="${v.version}" aria-label="compare v${v.version}" /></td>
          <td><strong>v${v.version}</strong></td>
          <td>${fmtTime(v.createdAt)}</td>
          <td>${v.aliases.map((a) => badge(a, a === 'champion' ? 'ok' : undefined))}</td>
          ${columns.map((c) => html`<td class="num ${best.get(c.key) === v.metrics[c.key] ? 'best' : ''}">${fmtMetric(v.metrics[c.key])}</td>`)}
          <td>
            ${runs.get(v.runId) ? html`<a href="/runs/${encodeURIComponent(v.runId)}">${v.runId}</a>` : html`<code>${v.runId}</code>`}
          </td>
          <td>
            ${v.description}${
              Object.keys(v.tags).length
                ? html`<div class="muted">
                    ${Object.entries(v.tags)
                      .map(([k, val]) => `${k}=${val}`)
                      .join(' ')}
                  </div>`
                : ''
            }
          </td>
        </tr>`,
    );
    const lineages: Html[] = [];
    for (const v of versions)
      lineages.push(
        html`<h3 id="lineage-v${v.version}">v${v.version}</h3>
          <ol class="lineage">
            ${await lineage(ctx, v, runs.get(v.runId), cycleOf.get(v.version), ids)}
          </ol>`,
      );

    const body = html`<h1>${name}</h1>
      ${model.description ? html`<p>${model.description}</p>` : ''} ${temporalNote(workflows.error)}
      <dl class="kv">
        <dt>champion</dt>
        <dd>${model.aliases.champion !== undefined ? html`<a href="#v${model.aliases.champion}">v${model.aliases.champion}</a>` : '–'}</dd>
        <dt>challenger</dt>
        <dd>
          ${model.aliases.challenger !== undefined ? html`<a href="#v${model.aliases.challenger}">v${model.aliases.challenger}</a>` : '–'}
        </dd>
        <dt>task</dt>
        <dd>${task}</dd>
        <dt>lifecycle</dt>
        <dd>
          ${lifecycle ? html`${badge(lifecycleState(lifecycle, newestCycle) ?? 'running')} ${workflowAnchor(ctx, lifecycle.workflowId)}` : html`<span class="muted">not running</span> ${workflowAnchor(ctx, WORKFLOW_IDS.modelLifecycle(name))}`}
          ${status?.desiredState && status.desiredState !== 'active' ? badge(status.desiredState, 'warn') : ''} ${stateForms}
        </dd>
        <dt>drift monitor</dt>
        <dd>
          ${drift ? html`${drift.breach ? badge('alert', 'bad') : badge(drift.status)} last check ${fmtTime(drift.at)}` : html`<span class="muted">no checks</span>`}
          ${workflowAnchor(ctx, WORKFLOW_IDS.driftMonitor(name))} <a href="/models/${encoded}/drift">drift charts</a>
        </dd>
        <dt>runs</dt>
        <dd><a href="/runs?model=${encoded}">training runs of ${name}</a></dd>
      </dl>

      ${approvalPanel}

      <h2>Versions</h2>
      <form method="get" action="/compare">
        <input type="hidden" name="model" value="${name}" />
        <table class="versions">
          <thead>
            <tr>
              <th></th>
              <th>version</th>
              <th>created</th>
              <th>aliases</th>
              ${columns.map((c) => html`<th class="num">${c.label}</th>`)}
              <th>run</th>
              <th>notes</th>
            </tr>
          </thead>
          <tbody>
            ${versionRows}
          </tbody>
        </table>
        <p><button class="primary" type="submit">Compare selected versions</button></p>
      </form>

      <h2>Lineage</h2>
      ${lineages.length ? lineages : html`<p class="muted">No versions.</p>`}

      <h2>Alias history</h2>
      ${
        moves.length
          ? html`<table>
              <thead>
                <tr>
                  <th>when</th>
                  <th>alias</th>
                  <th>from → to</th>
                  <th>who</th>
                  <th>why</th>
                </tr>
              </thead>
              <tbody>
                ${[...moves].reverse().map(
                  (m) =>
                    html`<tr>
                      <td>${fmtTime(m.at)}</td>
                      <td>${m.alias}</td>
                      <td>
                        ${m.fromVersion === null ? '(none)' : `v${m.fromVersion}`} →
                        ${m.toVersion === null ? '(removed)' : `v${m.toVersion}`}
                      </td>
                      <td>${m.actor}</td>
                      <td>${m.reason}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="muted">No alias moves yet.</p>`
      }

      <h2>Approvals</h2>
      ${
        approvals.length
          ? html`<table>
              <thead>
                <tr>
                  <th>when</th>
                  <th>version</th>
                  <th>decision</th>
                  <th>who</th>
                  <th>why</th>
                </tr>
              </thead>
              <tbody>
                ${[...approvals].reverse().map(
                  (a) =>
                    html`<tr>
                      <td>${fmtTime(a.at)}</td>
                      <td>v${a.version}</td>
                      <td>${badge(a.decision, a.decision === 'approved' ? 'ok' : 'bad')}</td>
                      <td>${a.actor}</td>
                      <td>${a.reason}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="muted">No approval decisions yet.</p>`
      }

      <h2>Workflows</h2>
      ${
        workflows.rows.length
          ? html`<table>
              <thead>
                <tr>
                  <th>workflow</th>
                  <th>type</th>
                  <th>status</th>
                  <th>stage</th>
                  <th>started</th>
                  <th>closed</th>
                </tr>
              </thead>
              <tbody>
                ${workflows.rows.map(
                  (w) =>
                    html`<tr>
                      <td>${workflowAnchor(ctx, w.workflowId, w.runId)}</td>
                      <td>${w.type}</td>
                      <td>${badge(w.status)}</td>
                      <td>${w.stage ?? ''}</td>
                      <td>${fmtTime(w.startTime)}</td>
                      <td>${fmtTime(w.closeTime)}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="muted">No workflows found for this model${workflows.error ? ' (Temporal unreachable)' : ''}.</p>`
      }`;
    return ctx.page(reply, { title: name, nav: 'models', body });
  });
}
