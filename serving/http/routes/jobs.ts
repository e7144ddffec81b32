// Async inference: POST /v1/models/:name/jobs answers at once with a job id; GET /v1/jobs/:id
// reads it back. Jobs are Temporal workflows, so they outlive any server restart.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ServingError } from '../../errors.ts';
import { webhookUrlProblem } from '../../../lib/net/webhook-policy.ts';
import { checkInstances } from '../../predictor.ts';
import { authenticateBeforeBody, principalOf } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import { jobAcceptedSchema, jobSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { jobBodySchema, jobRequestSchema, modelParamsSchema, parseBody } from '../schemas.ts';

export const jobParamsSchema = z.strictObject({ id: z.string().meta({ description: 'The jobId a submit answered with' }) });

export const JOB_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'POST',
    url: '/v1/models/:name/jobs',
    operationId: 'submitJob',
    summary: 'Submit an async inference job',
    description:
      'Answers at once with a job id; the job is a Temporal workflow, so it outlives any server restart. The instances are checked against the champion before the job starts.',
    tags: ['predict'],
    scope: 'predict',
    params: modelParamsSchema,
    body: jobRequestSchema,
    responses: {
      202: { description: 'Accepted; poll the Location', schema: jobAcceptedSchema },
      400: { description: 'Invalid body, or instances the champion cannot read (fields named as a predict would)' },
      404: { description: 'Model not served' },
      413: { description: 'Body too large' },
      415: { description: 'Not application/json' },
      503: { description: 'Workflow service unreachable (Retry-After)' },
    },
  },
  {
    method: 'GET',
    url: '/v1/jobs/:id',
    operationId: 'getJob',
    summary: 'Status and result of an async job',
    tags: ['predict'],
    scope: 'predict',
    params: jobParamsSchema,
    responses: {
      200: { description: 'Job', schema: jobSchema },
      404: { description: 'No such job' },
      503: { description: 'Workflow service unreachable (Retry-After)' },
    },
  },
];

export function registerJobRoutes(app: FastifyInstance, ctx: ServingContext): void {
  const bodySchema = jobBodySchema(ctx.settings.maxInstances * 10);

  function jobs() {
    const jobs = ctx.jobs();
    if (!jobs)
      throw new ServingError(
        'unavailable',
        'async jobs need the workflow service (TEMPORAL_ADDRESS), which this server has not reached yet (it keeps trying); retry later',
        5,
      );
    return jobs;
  }

  app.post<{ Params: { name: string } }>(
    '/v1/models/:name/jobs',
    { onRequest: authenticateBeforeBody(ctx.authenticate, 'predict', ctx.limitRows) },
    async function submitJobRoute(request, reply) {
      const principal = principalOf(request);
      const body = parseBody(bodySchema, request.body);
      ctx.limitRows(principal, body.instances.length);
      const name = request.params.name;
      // Unknown model → 404, then the instances as the champion reads them → 400 naming fields.
      checkInstances(ctx.models, name, body.instances);
      if (body.webhookUrl !== undefined) {
        if (!ctx.webhooks.enabled)
          throw new ServingError(
            'badRequest',
            'webhookUrl: webhooks are off on this server (it has no FLYWHEEL_SERVE_WEBHOOK_SECRET to sign them with); poll statusUrl instead',
          );
        const problem = webhookUrlProblem(ctx.webhooks.policy, body.webhookUrl);
        if (problem) throw new ServingError('badRequest', `webhookUrl: ${problem}`);
      }
      const jobId = await jobs().start({
        model: name,
        instances: body.instances,
        ...(body.routingKey !== undefined ? { routingKey: body.routingKey } : {}),
        ...(body.webhookUrl !== undefined ? { webhookUrl: body.webhookUrl } : {}),
      });
      void reply.status(202).header('location', `/v1/jobs/${jobId}`);
      return { jobId, status: 'running', statusUrl: `/v1/jobs/${jobId}` } satisfies z.infer<typeof jobAcceptedSchema>;
    },
  );

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async function jobStatusRoute(request) {
    await ctx.authenticate(request, 'predict');
    return (await jobs().get(request.params.id)) satisfies z.infer<typeof jobSchema>;
  });
}
