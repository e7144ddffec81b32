// POST /v1/feedback: delayed ground truth for a prediction, joined to the log by request id.
import type { FastifyInstance } from 'fastify';
import { DependencyUnavailableError } from '../../../lib/resilience/breaker.ts';
import { ServingError } from '../../errors.ts';
import type { ServingContext } from '../context.ts';
import { feedbackBodySchema, parseBody } from '../schemas.ts';

export function registerFeedbackRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.post('/v1/feedback', async function feedbackRoute(request, reply) {
    await ctx.authenticate(request, 'predict');
    const body = parseBody(feedbackBodySchema, request.body);
    try {
      // A label may arrive again (a corrected one): the latest wins.
      await ctx.db.query(
        `INSERT INTO prediction_feedback (request_id, instance, label) VALUES ($1, $2, $3)
         ON CONFLICT (request_id, instance) DO UPDATE SET label = EXCLUDED.label, received_at = now()`,
        [body.requestId, body.instance, body.label],
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
