// POST /v1/events/data-arrived (scope `events`): new data for a dataset. Every model lifecycle
// that consumes it is signalled-with-start, so the first event creates the workflow; the same
// event delivered twice starts one cycle (the workflow de-duplicates by event id).
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { eventIdFor } from '../../../lib/lifecycle/notify.ts';
import { ServingError } from '../../errors.ts';
import type { ServingContext } from '../context.ts';
import { dataArrivedResponseSchema } from '../response-schemas.ts';
import type { RouteDoc } from '../route-docs.ts';
import { dataArrivedBodySchema, parseBody } from '../schemas.ts';

export const EVENT_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'POST',
    url: '/v1/events/data-arrived',
    operationId: 'dataArrived',
    summary: 'New data arrived: signal-with-start every model lifecycle that consumes the dataset',
    description: 'The same event delivered twice starts one cycle (the workflow de-duplicates by event id).',
    tags: ['events'],
    scope: 'events',
    body: dataArrivedBodySchema,
    responses: {
      202: { description: 'Delivered', schema: dataArrivedResponseSchema },
      400: { description: 'Invalid body' },
      413: { description: 'Body too large' },
      415: { description: 'Not application/json' },
      503: { description: 'Workflow service unreachable (retry with the same eventId)' },
    },
  },
];

export function registerEventRoutes(app: FastifyInstance, ctx: ServingContext): void {
  app.post('/v1/events/data-arrived', async function dataArrivedRoute(request, reply) {
    await ctx.authenticate(request, 'events');
    const body = parseBody(dataArrivedBodySchema, request.body);
    const notify = ctx.notifyDataArrived();
    if (!notify)
      throw new ServingError(
        'unavailable',
        'events need the workflow service (TEMPORAL_ADDRESS), which this server has not reached yet (it keeps trying); retry later',
        5,
      );
    const event = { ...body, eventId: body.eventId ?? eventIdFor(body) };
    let models: string[];
    try {
      models = await notify(event);
    } catch (err) {
      ctx.logger.warn({ err, eventId: event.eventId }, 'data-arrived event not delivered');
      throw new ServingError(
        'unavailable',
        `the event could not be delivered right now (${(err as Error).message}); retry with the same eventId`,
        5,
      );
    }
    void reply.status(202);
    return { eventId: event.eventId, models } satisfies z.infer<typeof dataArrivedResponseSchema>;
  });
}
