// The console's write side: JSON POST endpoints that steer workflows through the same Updates and
// Signals the CLI uses (rollout pause/resume/abort, lifecycle approve/reject/setState, the drift
// monitor's checkNow). Each needs a signed-in admin and acts as `console:<key name>`; a refusal by
// the Update's validator comes back with its own words, so the page can show why.
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { checkNowSignal } from '../lib/contracts/drift-monitor.ts';
import { approveUpdate, rejectUpdate, setStateUpdate } from '../lib/contracts/model-lifecycle.ts';
import { abortRolloutUpdate, pauseRolloutUpdate, resumeRolloutUpdate } from '../lib/contracts/rollout.ts';
import { personText } from '../lib/contracts/person-text.ts';
import { WORKFLOW_IDS } from '../lib/temporal/constants.ts';
import type { ConsoleContext } from './context.ts';

/** Longest reason kept: a reason is a sentence for the audit trail, not a document. */
export const MAX_REASON_CHARS = 500;

// The Updates' own rule for who-and-why text (non-blank, storable), refused here already so the
// form says so before Temporal is asked; the console's cap is shorter than the Updates'.
const reason = personText('a reason is required').refine(
  (s) => s.length <= MAX_REASON_CHARS,
  `a reason is at most ${MAX_REASON_CHARS} characters`,
);
const optionalReason = z.string().trim().max(MAX_REASON_CHARS).optional();

const bodies = {
  withReason: z.object({ reason }),
  optionalReason: z.object({ reason: optionalReason }),
  setState: z.object({ state: z.enum(['active', 'paused', 'retired'], 'state must be active, paused or retired'), reason }),
};

const modelParams = z.object({ name: z.string().min(1).max(200) });
const rolloutParams = z.object({ name: z.string().min(1).max(200), version: z.coerce.number().int().positive('a positive version') });

/** A refusal with its HTTP status; everything the handlers throw on purpose is one of these. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const UNREACHABLE_GRPC_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

function isUnreachable(err: unknown): boolean {
  if (isGrpcServiceError(err)) return UNREACHABLE_GRPC_CODES.has(err.code);
  if (err instanceof ServiceError) return isUnreachable(err.cause) || /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED/.test(err.message);
  return false;
}

/** The one place Temporal's errors become statuses: a validator's refusal (409) keeps its
 * message; a workflow that is not there is 404; a Temporal that cannot be reached is 503. */
export function toActionError(err: unknown, workflowId: string): ActionError {
  if (err instanceof ActionError) return err;
  if (err instanceof WorkflowUpdateFailedError) return new ActionError(409, err.cause?.message ?? err.message);
  if (err instanceof WorkflowNotFoundError) return new ActionError(404, `${workflowId} is not running (it finished, or never started)`);
  if (isUnreachable(err)) return new ActionError(503, 'Temporal is unreachable; try again shortly');
  return new ActionError(500, 'the action failed; see the console log');
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw new ActionError(400, result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

type Act = (input: {
  req: FastifyRequest;
  actor: string;
}) => Promise<{ workflowId: string; run: () => Promise<unknown>; message: (result: unknown) => string }>;

/** Registers one action: admin first, then a JSON body, then the Temporal call, errors mapped. */
function action(app: FastifyInstance, ctx: ConsoleContext, url: string, act: Act): void {
  app.post(url, async (req: FastifyRequest, reply: FastifyReply) => {
    const principal = await ctx.requireAdmin(req, reply);
    if (!principal) return reply;
    // Only a JSON body: a cross-site form can post text/plain or urlencoded without a preflight.
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return reply.code(415).send({ error: 'send the action as application/json' });
    let workflowId = '';
    try {
      const planned = await act({ req, actor: `console:${principal.name}` });
      workflowId = planned.workflowId;
      const result = await planned.run();
      ctx.logger.info({ url: req.url, workflowId, actor: principal.name }, 'console action');
      return reply.send({ ok: true, message: planned.message(result), result: result ?? null });
    } catch (err) {
      const mapped = toActionError(err, workflowId);
      if (mapped.status >= 500) ctx.logger.error({ err, url: req.url, workflowId }, 'console action failed');
      return reply.code(mapped.status).send({ error: mapped.message });
    }
  });
}

/** POST endpoints under /api: rollouts, lifecycles (approvals, state) and drift monitors. */
export function registerActionRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const rollout = (req: FastifyRequest) => {
    const p = parse(rolloutParams, req.params);
    return { ...p, workflowId: WORKFLOW_IDS.rollout(p.name, p.version) };
  };
  const lifecycle = (req: FastifyRequest) => {
    const p = parse(modelParams, req.params);
    return { ...p, workflowId: WORKFLOW_IDS.modelLifecycle(p.name) };
  };

  action(app, ctx, '/api/models/:name/rollouts/:version/pause', async ({ req, actor }) => {
    const { workflowId } = rollout(req);
    const body = parse(bodies.withReason, req.body);
    return {
      workflowId,
      run: () => ctx.temporal.workflow.getHandle(workflowId).executeUpdate(pauseRolloutUpdate, { args: [{ actor, reason: body.reason }] }),
      message: () => `${workflowId} paused`,
    };
  });
  action(app, ctx, '/api/models/:name/rollouts/:version/resume', async ({ req, actor }) => {
    const { workflowId } = rollout(req);
    parse(bodies.optionalReason, req.body);
    return {
      workflowId,
      run: () => ctx.temporal.workflow.getHandle(workflowId).executeUpdate(resumeRolloutUpdate, { args: [{ actor }] }),
      message: () => `${workflowId} resumed`,
    };
  });
  action(app, ctx, '/api/models/:name/rollouts/:version/abort', async ({ req, actor }) => {
    const { workflowId } = rollout(req);
    const body = parse(bodies.withReason, req.body);
    return {
      workflowId,
      run: () => ctx.temporal.workflow.getHandle(workflowId).executeUpdate(abortRolloutUpdate, { args: [{ actor, reason: body.reason }] }),
      message: () => `${workflowId} aborted: it rolls back`,
    };
  });

  for (const decision of ['approve', 'reject'] as const) {
    action(app, ctx, `/api/models/:name/${decision}`, async ({ req, actor }) => {
      const { workflowId } = lifecycle(req);
      const body = parse(bodies.withReason, req.body);
      const update = decision === 'approve' ? approveUpdate : rejectUpdate;
      return {
        workflowId,
        run: () => ctx.temporal.workflow.getHandle(workflowId).executeUpdate(update, { args: [{ actor, reason: body.reason }] }),
        message: (r) => {
          const { version } = r as { version: number };
          return `v${version} ${decision === 'approve' ? 'approved' : 'rejected'}`;
        },
      };
    });
  }

  action(app, ctx, '/api/models/:name/state', async ({ req, actor }) => {
    const { workflowId } = lifecycle(req);
    const body = parse(bodies.setState, req.body);
    return {
      workflowId,
      run: () =>
        ctx.temporal.workflow
          .getHandle(workflowId)
          .executeUpdate(setStateUpdate, { args: [{ state: body.state, actor, reason: body.reason }] }),
      message: () => `${workflowId} is ${body.state}`,
    };
  });

  action(app, ctx, '/api/models/:name/monitor/check-now', async ({ req, actor }) => {
    const { name } = parse(modelParams, req.params);
    const body = parse(bodies.optionalReason, req.body);
    const workflowId = WORKFLOW_IDS.driftMonitor(name);
    return {
      workflowId,
      run: () => ctx.temporal.workflow.getHandle(workflowId).signal(checkNowSignal, { reason: body.reason || `asked by ${actor}` }),
      message: () => `${workflowId} checks now`,
    };
  });

  app.get('/assets/live.js', async (_req, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(LIVE_SCRIPT),
  );
}

/**
 * The live pages' refresh: an element with `data-refresh-ms` reloads the page that often while
 * nobody is typing in one of its forms or reading an answer (forms themselves are sent by the
 * layout's /assets/console.js).
 */
export const LIVE_SCRIPT = `'use strict';
(function () {
  var holder = document.querySelector('[data-refresh-ms]');
  if (!holder) return;
  var ms = Math.max(1000, Number(holder.getAttribute('data-refresh-ms')) || 5000);
  setInterval(function () {
    var busy = Array.prototype.some.call(document.querySelectorAll('form input[type=text], form textarea'), function (i) {
      return i.value || i === document.activeElement;
    });
    var answered = Array.prototype.some.call(document.querySelectorAll('form [role=alert], form [role=status]'), function (a) {
      return a.textContent;
    });
    if (!busy && !answered) location.reload();
  }, ms);
})();
`;
