// POST /v1/feedback (scope `feedback`): delayed ground truth for a prediction, joined to the log by
// request id — only for ids this server issued. The label is a number (binary 0/1, a regression
// value) or a class name (multiclass); naming the model checks it against the model's task.
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { DependencyUnavailableError } from '../../../lib/resilience/breaker.ts';
import type { Task } from '../../../lib/tasks/task.ts';
import { ServingError } from '../../errors.ts';
import { storedLabel } from '../../feedback-label.ts';
import { championOf } from '../../predictor.ts';
import { labelRequestIdProblem } from '../../request-ids.ts';
import type { ServingContext } from '../context.ts';
import { feedbackStoredSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { feedbackBodySchema, parseBody } from '../schemas.ts';

export const FEEDBACK_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'POST',
    url: '/v1/feedback',
    operationId: 'postFeedback',
    summary: 'Store delayed ground truth for a prediction',
    description:
      'Joined to the prediction log by request id, only for ids this server issued. A label may arrive again: the latest wins, and who sent it is kept.',
    tags: ['feedback'],
    scope: 'feedback',
    body: feedbackBodySchema,
    responses: {
      202: { description: 'Stored', schema: feedbackStoredSchema },
      400: { description: "Invalid body, not a request id this server issued, or a label that does not suit the named model's task" },
      403: { description: "Key lacks the feedback scope, or the id is another key's" },
      404: { description: 'The named model is not served' },
      503: { description: 'Database unreachable, or the named model not loaded yet (Retry-After)' },
    },
  },
];

export function registerFeedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  /** The task of the served model `name` (its champion's); 404 when not served, 503 while loading. */
  function taskOf(name: string): Task {
    return championOf(ctx.models, name).io.task;
  }

  app.post('/v1/feedback', async function feedbackRoute(request, reply) {
    const principal = await ctx.authenticate(request, 'feedback');
    const body = parseBody(feedbackBodySchema, request.body);
    const problem = labelRequestIdProblem(principal, body.requestId);
    if (problem) throw new ServingError(problem.status, problem.message);
    const { label, labelClass } = storedLabel(body.label, body.model !== undefined ? taskOf(body.model) : undefined, body.model);
    try {
      // A label may arrive again (a corrected one): the latest wins, and who sent it is kept.
      await ctx.db.query(
        `INSERT INTO prediction_feedback (request_id, instance, label, label_class, key_id) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (request_id, instance) DO UPDATE
           SET label = EXCLUDED.label, label_class = EXCLUDED.label_class, key_id = EXCLUDED.key_id, received_at = now()`,
        [body.requestId, body.instance, label, labelClass, principal.keyId],
      );
    } catch (err) {
      ctx.logger.warn({ err }, 'feedback not stored');
      const retryAfterS = err instanceof DependencyUnavailableError ? err.retryAfterS : 5;
      throw new ServingError('unavailable', 'feedback could not be stored right now (database unreachable); retry later', retryAfterS);
    }
    void reply.status(202);
    return { requestId: body.requestId, instance: body.instance, stored: true } satisfies z.infer<typeof feedbackStoredSchema>;
  });
}
