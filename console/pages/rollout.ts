// The live rollout view (`/models/:name/rollout`): the newest rollout of a model (or `?version=n`)
// as its status Query tells it, the plan's traffic shares per step, every analysis the rollout ran
// (read back from its history: per-arm samples, errors, latency, AUC and the verdict), and, for a
// signed-in admin, pause/resume/abort. The page reloads itself every few seconds while it runs.
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { statusQuery } from '../../lib/contracts/model-lifecycle.ts';
import { rolloutStatusQuery, type RolloutInput, type RolloutStatus, type StepAnalysis } from '../../lib/contracts/rollout.ts';
import { WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { MAX_REASON_CHARS } from '../actions.ts';
import { chartSvg, trafficSpec, type TrafficStep } from '../charts.ts';
import type { ConsoleContext } from '../context.ts';
import { html, type Html } from '../html.ts';

/** How often a running rollout's page reloads. */
export const ROLLOUT_REFRESH_MS = 3000;

/** Model names as the registry allows them; anything else never reaches a visibility query. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** What the rollout's history says beyond its Query: the plan it was started with and each analysis. */
export interface RolloutHistory {
  input?: RolloutInput;
  analyses: Array<StepAnalysis & { at?: string }>;
}

function decode<T>(payload: Payload | null | undefined): T | undefined {
  if (!payload) return undefined;
  try {
    return defaultPayloadConverter.fromPayload<T>(payload);
  } catch {
    return undefined;
  }
}

/** The plan (first event's input) and every completed `analyzeRolloutStep` of the current run. */
export async function readRolloutHistory(handle: WorkflowHandle): Promise<RolloutHistory> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const input = decode<RolloutInput>(events[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]);
  const analysisScheduled = new Set<string>();
  const analyses: RolloutHistory['analyses'] = [];
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'analyzeRolloutStep') analysisScheduled.add(String(e.eventId));
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed && analysisScheduled.has(String(completed.scheduledEventId))) {
      const result = decode<StepAnalysis>(completed.result?.payloads?.[0]);
      if (result) analyses.push(result);
    }
  }
  return { input, analyses };
}

/** `?version=n`, else the newest rollout workflow of the model in visibility, else the version the
 * lifecycle's current cycle is rolling out. */
export async function findRolloutVersion(temporal: Client, model: string, asked?: number): Promise<number | undefined> {
  if (asked !== undefined) return asked;
  for await (const w of temporal.workflow.list({ query: `WorkflowType = 'rollout' AND FlywheelModel = '${model}'`, pageSize: 5 })) {
    const m = /\/v(\d+)$/.exec(w.workflowId);
    if (m) return Number(m[1]);
  }
  const status = await temporal.workflow
    .getHandle(WORKFLOW_IDS.modelLifecycle(model))
    .query(statusQuery)
    .catch(() => undefined);
  return status?.current?.stage === 'rollout' ? status.current.version : undefined;
}

const pct = (n: number | null | undefined) => (typeof n === 'number' ? `${(n * 100).toFixed(1)}%` : '—');
const num = (n: number | null | undefined, digits = 3) => (typeof n === 'number' ? n.toFixed(digits) : '—');

function stateBadge(s: RolloutStatus): Html {
  const cls = s.state === 'completed' ? 'ok' : s.state === 'rolled-back' ? 'bad' : s.state === 'paused' ? 'warn' : '';
  return html`<span class="badge ${cls}" data-state="${s.state}">${s.state}</span>`;
}

function trafficSteps(input: RolloutInput | undefined, s: RolloutStatus): TrafficStep[] {
  return (input?.plan.steps ?? []).map((p, i) => ({
    step: i + 1,
    shadow: p.shadow,
    weight: p.weight,
    phase: i < s.step ? 'passed' : i === s.step && !['completed', 'rolled-back', 'skipped'].includes(s.state) ? 'current' : 'planned',
  }));
}

function controls(model: string, s: RolloutStatus): Html {
  const base = `/api/models/${encodeURIComponent(model)}/rollouts/${s.challenger}`;
  const canPause = s.state === 'running' || s.state === 'starting';
  const canResume = s.state === 'paused';
  const canAbort = canPause || canResume;
  if (!canAbort) return html`<p class="muted">This rollout can no longer be steered (${s.state}).</p>`;
  return html`<div class="actions">
    ${
      canPause
        ? html`<form data-action data-reload method="post" action="${`${base}/pause`}" class="action-pause">
            <label>Reason <input type="text" name="reason" maxlength="${MAX_REASON_CHARS}" placeholder="why pause" /></label>
            <button type="submit" class="primary">Pause</button>
            <div role="alert"></div>
          </form>`
        : ''
    }
    ${
      canResume
        ? html`<form data-action data-reload method="post" action="${`${base}/resume`}" class="action-resume">
            <button type="submit" class="primary">Resume</button>
            <div role="alert"></div>
          </form>`
        : ''
    }
    <form data-action data-reload method="post" action="${`${base}/abort`}" class="action-abort">
      <label>Reason <input type="text" name="reason" maxlength="${MAX_REASON_CHARS}" placeholder="why abort (rolls back)" /></label>
      <button type="submit">Abort</button>
      <div role="alert"></div>
    </form>
  </div>`;
}

function analysesTable(analyses: RolloutHistory['analyses']): Html {
  if (analyses.length === 0) return html`<p class="muted">No analysis yet.</p>`;
  const newest = analyses.slice(-30).reverse();
  return html`<table class="analyses">
    <thead>
      <tr>
        <th>window</th>
        <th>verdict</th>
        <th class="num">challenger n</th>
        <th class="num">champion n</th>
        <th class="num">error rate (ch / champ)</th>
        <th class="num">p99 ms (ch / champ)</th>
        <th class="num">AUC (ch / champ)</th>
        <th>reasons</th>
      </tr>
    </thead>
    <tbody>
      ${newest.map(
        (a) =>
          html`<tr>
            <td>${a.window.since.slice(11, 19)}–${a.window.until.slice(11, 19)}</td>
            <td><span class="badge ${a.verdict === 'pass' ? 'ok' : a.verdict === 'fail' ? 'bad' : ''}">${a.verdict}</span></td>
            <td class="num">${a.challenger.samples}</td>
            <td class="num">${a.champion.samples}</td>
            <td class="num">${pct(a.challenger.errorRate)} / ${pct(a.champion.errorRate)}</td>
            <td class="num">${num(a.challenger.p99LatencyMs, 1)} / ${num(a.champion.p99LatencyMs, 1)}</td>
            <td class="num">${num(a.challenger.auc)} / ${num(a.champion.auc)}</td>
            <td>${a.reasons.join('; ')}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export async function renderRollout(
  ctx: ConsoleContext,
  model: string,
  s: RolloutStatus,
  history: RolloutHistory,
  options: { running: boolean; admin: boolean; runId?: string },
): Promise<Html> {
  const workflowId = WORKFLOW_IDS.rollout(model, s.challenger);
  const link = ctx.workflowLink(workflowId, options.runId);
  const steps = trafficSteps(history.input, s);
  const chart = steps.length ? await chartSvg(trafficSpec(steps)) : html`<p class="muted">The plan has no steps.</p>`;
  const stepText = s.step >= s.steps ? `all ${s.steps} passed` : `${s.step + 1} of ${s.steps}, held ${Math.round(s.heldMs / 1000)} s`;
  return html`<div ${options.running ? html`data-refresh-ms="${ROLLOUT_REFRESH_MS}"` : ''} class="rollout">
    <h1>Rollout of <a href="${`/models/${encodeURIComponent(model)}`}">${model}</a> v${s.challenger} ${stateBadge(s)}</h1>
    <dl class="kv">
      <dt>Workflow</dt>
      <dd>${link ? html`<a href="${link}" rel="noopener">${workflowId}</a>` : workflowId}</dd>
      <dt>Champion</dt>
      <dd>${s.champion !== null ? `v${s.champion}` : 'none'}</dd>
      <dt>Step</dt>
      <dd class="step">${stepText}</dd>
      ${
        s.pausedBy
          ? html`<dt>Paused by</dt>
              <dd>${s.pausedBy}</dd>`
          : ''
      }
      ${
        s.resumedBy
          ? html`<dt>Resumed by</dt>
              <dd>${s.resumedBy}</dd>`
          : ''
      }
      ${
        history.input
          ? html`<dt>Approved by</dt>
              <dd>${history.input.approvedBy}: ${history.input.reason}</dd>`
          : ''
      }
      <dt>Last verdict</dt>
      <dd>
        ${
          s.last
            ? html`<strong>${s.last.verdict}</strong> — challenger ${s.last.challengerSamples} / champion ${s.last.championSamples}
                predictions${s.last.reasons.length ? html`: ${s.last.reasons.join('; ')}` : ''}`
            : 'none yet'
        }
      </dd>
      <dt>Checks</dt>
      <dd>${s.checks ?? 0} in ${s.runs ?? 1} run(s)</dd>
    </dl>
    ${options.admin ? controls(model, s) : html`<p class="muted"><a href="/login">Sign in</a> as an admin to pause, resume or abort.</p>`}
    <h2>Steps</h2>
    <div class="charts">
      <figure>${chart}</figure>
      <table class="steps">
        <thead>
          <tr>
            <th>step</th>
            <th>traffic to v${s.challenger}</th>
            <th>hold</th>
            <th>phase</th>
          </tr>
        </thead>
        <tbody>
          ${(history.input?.plan.steps ?? []).map(
            (p, i) =>
              html`<tr>
                <td>${i + 1}</td>
                <td>${p.shadow ? 'shadow (mirror)' : `${p.weight}%`}</td>
                <td>${String(p.hold ?? '')}</td>
                <td>${steps[i]?.phase}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>
    <h2>Analyses (this run, newest first)</h2>
    ${analysesTable(history.analyses)}
    <script src="/assets/live.js" defer></script>
  </div>`;
}

export function registerRolloutRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const show = async (req: FastifyRequest, reply: FastifyReply, model: string, askedText: string | undefined) => {
    const asked = askedText !== undefined ? Number(askedText) : undefined;
    if (!MODEL_NAME.test(model) || (asked !== undefined && !(Number.isInteger(asked) && asked > 0)))
      return reply.code(400).type('text/plain').send('bad model name or version');
    const version = await findRolloutVersion(ctx.temporal, model, asked);
    const notFound = () =>
      ctx.page(reply.code(404), {
        title: `Rollout of ${model}`,
        nav: 'models',
        body: html`<h1>Rollout of ${model}</h1>
          <p>No rollout of ${model}${version ? ` v${version}` : ''} was found.</p>`,
      });
    if (version === undefined) return notFound();
    const handle = ctx.temporal.workflow.getHandle(WORKFLOW_IDS.rollout(model, version));
    try {
      const [status, description, history, principal] = await Promise.all([
        handle.query(rolloutStatusQuery),
        handle.describe(),
        readRolloutHistory(handle),
        ctx.principal(req),
      ]);
      const body = await renderRollout(ctx, model, status, history, {
        running: description.status.name === 'RUNNING',
        admin: principal !== undefined,
        runId: description.runId,
      });
      return ctx.page(reply, { title: `Rollout ${model} v${version}`, nav: 'models', body });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return notFound();
      throw err;
    }
  };
  // The newest rollout (or `?version=n`), and one version's rollout as the model page links it.
  app.get<{ Params: { name: string }; Querystring: { version?: string } }>('/models/:name/rollout', (req, reply) =>
    show(req, reply, req.params.name, req.query.version),
  );
  app.get<{ Params: { name: string; version: string } }>('/models/:name/rollouts/:version', (req, reply) =>
    show(req, reply, req.params.name, req.params.version),
  );
}
