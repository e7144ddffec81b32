// Approvals (`/approvals`): every lifecycle waiting for a person (visibility: FlywheelStage =
// 'awaiting-approval'), each with the pending version's metrics beside the champion's, the
// deadline and what happens then, and approve/reject forms that go through the lifecycle's
// Updates (their validator's refusal is shown in the form). The model page embeds the same form.
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { statusQuery, type ApprovalRequest, type LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';
import { MAX_REASON_CHARS } from '../actions.ts';
import { TEMPORAL_TIMEOUT_MS } from '../read-model.ts';

/** Lifecycles read per page load: more waiting at once is a queue to look at in the Web UI. */
export const MAX_PENDING_LISTED = 100;

export interface PendingApproval {
  model: string;
  request: ApprovalRequest;
  /** The champion's version and metrics, when the model has one. */
  champion: { version: number; metrics: Record<string, number> } | null;
}

/** The lifecycle's `status` Query; undefined when it is not running, Temporal is down, or no worker
 * answers within the pages' Temporal timeout (a Query waits for a worker to replay the workflow). */
export async function lifecycleStatusOf(temporal: Client, model: string): Promise<LifecycleStatus | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), TEMPORAL_TIMEOUT_MS);
  });
  try {
    const query = temporal.workflow
      .getHandle(WORKFLOW_IDS.modelLifecycle(model))
      .query(statusQuery)
      .catch(() => undefined);
    return await Promise.race([query, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The models whose lifecycle waits for approval now (visibility, then each one's status Query:
 * visibility may lag, the Query says what is pending). */
export async function listPendingApprovals(temporal: Client, registry: ModelRegistry): Promise<PendingApproval[]> {
  const models: string[] = [];
  const query = `WorkflowType = 'modelLifecycle' AND FlywheelStage = 'awaiting-approval' AND ExecutionStatus = 'Running'`;
  for await (const w of temporal.workflow.list({ query, pageSize: MAX_PENDING_LISTED })) {
    models.push(w.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model) ?? w.workflowId.replace(/^model\//, ''));
    if (models.length >= MAX_PENDING_LISTED) break;
  }
  const found = await Promise.all(
    models.map(async (model): Promise<PendingApproval | undefined> => {
      const status = await lifecycleStatusOf(temporal, model);
      if (!status?.pendingApproval) return undefined;
      const champion = await registry.getAlias(model, 'champion').catch(() => undefined);
      return {
        model,
        request: status.pendingApproval,
        champion: champion ? { version: champion.version, metrics: champion.metrics } : null,
      };
    }),
  );
  return found.filter((p): p is PendingApproval => p !== undefined).sort((a, b) => a.request.deadline.localeCompare(b.request.deadline));
}

const fmt = (n: unknown) => (typeof n === 'number' ? (Number.isInteger(n) ? String(n) : n.toFixed(4)) : '—');

/** The pending version's metrics beside the champion's (every key either has). */
export function metricsVsChampion(p: PendingApproval): Html {
  const keys = [...new Set([...Object.keys(p.request.metrics), ...Object.keys(p.champion?.metrics ?? {})])].sort();
  if (keys.length === 0) return html`<span class="muted">no metrics</span>`;
  return html`<table class="metrics">
    <thead>
      <tr>
        <th>metric</th>
        <th class="num">v${p.request.version}</th>
        <th class="num">${p.champion ? `champion v${p.champion.version}` : 'no champion'}</th>
      </tr>
    </thead>
    <tbody>
      ${keys.map(
        (k) =>
          html`<tr>
            <td>${k}</td>
            <td class="num">${fmt(p.request.metrics[k])}</td>
            <td class="num">${fmt(p.champion?.metrics[k])}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Approve and reject forms for one model's pending version (the model page shows them too). */
export function approvalForms(model: string, request: ApprovalRequest): Html {
  const base = `/api/models/${encodeURIComponent(model)}`;
  return html`<div class="approval-actions" data-model="${model}" data-version="${request.version}">
    <form data-action data-reload method="post" action="${`${base}/approve`}" class="action-approve">
      <label
        >Reason <input type="text" name="reason" maxlength="${MAX_REASON_CHARS}" placeholder="why approve v${request.version}"
      /></label>
      <button type="submit" class="primary">Approve v${request.version}</button>
      <div role="alert"></div>
    </form>
    <form data-action data-reload method="post" action="${`${base}/reject`}" class="action-reject">
      <label>Reason <input type="text" name="reason" maxlength="${MAX_REASON_CHARS}" placeholder="why reject" /></label>
      <button type="submit">Reject</button>
      <div role="alert"></div>
    </form>
  </div>`;
}

/** One pending approval as a section: what is asked, by when, the metrics, and (admins) the forms. */
export function approvalSection(p: PendingApproval, admin: boolean, link?: string): Html {
  const r = p.request;
  return html`<section class="approval" id="${`approval-${p.model}`}">
    <h2><a href="${`/models/${encodeURIComponent(p.model)}`}">${p.model}</a> v${r.version}</h2>
    <dl class="kv">
      <dt>Cycle</dt>
      <dd>${link ? html`<a href="${link}" rel="noopener">${r.cycleWorkflowId}</a>` : r.cycleWorkflowId}</dd>
      <dt>Requested</dt>
      <dd>${r.requestedAt}</dd>
      <dt>Deadline</dt>
      <dd>${r.deadline} — then <strong>${r.default}</strong> by default</dd>
    </dl>
    ${metricsVsChampion(p)}
    ${admin ? approvalForms(p.model, r) : html`<p class="muted"><a href="/login?next=/approvals">Sign in</a> as an admin to approve or reject.</p>`}
  </section>`;
}

/** Pause/resume/retire forms for a lifecycle (the `setState` Update, as `flywheel pipeline
 * pause|resume|retire`): the states other than the current one, each with its reason. */
export function lifecycleStateForms(model: string, current: 'active' | 'paused' | 'retired'): Html {
  if (current === 'retired') return html`<p class="muted">The lifecycle is retired.</p>`;
  const next = current === 'paused' ? (['active', 'retired'] as const) : (['paused', 'retired'] as const);
  const label = { active: 'Resume', paused: 'Pause', retired: 'Retire' } as const;
  return html`<div class="lifecycle-actions">
    ${next.map(
      (state) =>
        html`<form
          data-action
          data-reload
          method="post"
          action="${`/api/models/${encodeURIComponent(model)}/state`}"
          class="${`action-${state}`}"
        >
          <input type="hidden" name="state" value="${state}" />
          <label
            >Reason <input type="text" name="reason" maxlength="${MAX_REASON_CHARS}" placeholder="${`why ${label[state].toLowerCase()}`}"
          /></label>
          <button type="submit">${label[state]} the lifecycle</button>
          <div role="alert"></div>
        </form>`,
    )}
  </div>`;
}

/** The model page's approval panel: the pending version's section with its forms, or nothing
 * when the lifecycle waits for nobody (or is not running). `known`: the status already read. */
export async function modelApprovalPanel(ctx: ConsoleContext, model: string, admin: boolean, known?: LifecycleStatus): Promise<Html> {
  const status = known ?? (await lifecycleStatusOf(ctx.temporal, model));
  if (!status?.pendingApproval) return html``;
  const champion = await ctx.registry.getAlias(model, 'champion').catch(() => undefined);
  const pending: PendingApproval = {
    model,
    request: status.pendingApproval,
    champion: champion ? { version: champion.version, metrics: champion.metrics } : null,
  };
  return approvalSection(pending, admin, ctx.workflowLink(status.pendingApproval.cycleWorkflowId));
}

export function registerApprovalRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get('/approvals', async (req, reply) => {
    const [pending, principal] = await Promise.all([listPendingApprovals(ctx.temporal, ctx.registry), ctx.principal(req)]);
    const body = html`<h1>Approvals</h1>
      ${
        pending.length === 0
          ? html`<p class="muted">No model is waiting for approval.</p>`
          : pending.map((p) => approvalSection(p, principal !== undefined, ctx.workflowLink(p.request.cycleWorkflowId)))
      }`;
    return ctx.page(reply, { title: 'Approvals', nav: 'approvals', body });
  });
}
