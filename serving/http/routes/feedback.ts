// POST /v1/feedback (scope `feedback`): delayed ground truth for a prediction, joined to the log by
// request id — only for ids this server issued, and labels of the task's kind (0 or 1).
import type { FastifyInstance } from 'fastify';
import { DependencyUnavailableError } from '../../../lib/resilience/breaker.ts';
import { ServingError } from '../../errors.ts';
import { labelRequestIdProblem } from '../../request-ids.ts';
import type { ServingContext } from '../context.ts';
import { feedbackBodySchema, parseBody } from '../schemas.ts';

export function registerFeedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.post('/v1/feedback', async function feedbackRoute(request, reply) {
    const principal = await ctx.authenticate(request, 'feedback');
    const body = parseBody(feedbackBodySchema, request.body);
    const problem = labelRequestIdProblem(principal, body.requestId);
    if (problem) throw new ServingError(problem.status, problem.message);
    try {
      // A label may arrive again (a corrected one): the latest wins, and who sent it is kept.
      await ctx.db.query(
        `INSERT INTO prediction_feedback (request_id, instance, label, key_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (request_id, instance) DO UPDATE SET label = EXCLUDED.label, key_id = EXCLUDED.key_id, received_at = now()`,
        [body.requestId, body.instance, body.label, principal.keyId],
      );
    } catch (err) {
      ctx.logger.warn({ err }, 'feedback not stored');
      const retryAfterS = err instanceof DependencyUnavailableError ? err.retryAfterS : 5;
      throw new ServingError('unavailable', 'feedback could not be stored right now (database unreachable); retry later', retryAfterS);
    }
    void reply.status(202);
    return { requestId: body.requestId, instance: body.instance, stored: true };
  });
}
