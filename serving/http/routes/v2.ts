// The Open Inference Protocol (KServe V2) REST API beside Flywheel's own, so Triton and KServe
// clients (tritonclient, the KServe SDK) can call Flywheel models. An infer request becomes the
// instances of a /v1 predict and goes through the same `ctx.predict` (auth, row limit, routing,
// cache, batching, log); only the envelope differs. Everything lives in one Fastify plugin under
// /v2, so its body parsers and its error shape (`{"error": "<message>"}`) stay in this scope.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ServingErrorBody } from '../../../lib/contracts/serving-admin.ts';
import { ServingError } from '../../errors.ts';
import type { LoadedVersion, ServedModel } from '../../models.ts';
import { championOf } from '../../predictor.ts';
import { issueRequestId } from '../../request-ids.ts';
import { splitBody, HEADER_LENGTH, type V2Body } from '../../v2/body.ts';
import { checkRequestedOutputs, decodeInputs, inferResponse, instancesOf, outputsOf } from '../../v2/infer.ts';
import { modelMetadata, outputTensorsOf, SERVER_METADATA } from '../../v2/metadata.ts';
import {
  inferRequestSchema,
  inferResponseSchema,
  modelMetadataSchema,
  modelReadySchema,
  serverLiveSchema,
  serverMetadataSchema,
  serverReadySchema,
  v2ErrorSchema,
} from '../../v2/protocol.ts';
import { authenticateBeforeBody, principalOf } from '../auth.ts';
import type { ServingContext } from '../context.ts';
import type { RouteDoc } from '../route-docs.ts';
import { modelNameSchema, parseBody, parseHeader, routingKeySchema } from '../schemas.ts';

type ModelParams = { name: string; version?: string };

export function registerV2Routes(app: FastifyInstance, ctx: ServingContext): void {
  void app.register(
    async function v2Routes(v2) {
      useV2Errors(v2);
      useV2BodyParsers(v2, ctx.settings.bodyLimitBytes);
      const bodySchema = inferRequestSchema;

      v2.get('/', { prefixTrailingSlash: 'no-slash' }, async function v2ServerMetadataRoute() {
        return SERVER_METADATA;
      });
      v2.get('/health/live', async function v2ServerLiveRoute() {
        return { live: true };
      });
      // Ready is what /readyz says: every served model has a loaded champion.
      v2.get('/health/ready', async function v2ServerReadyRoute(_request, reply) {
        const ready = ctx.modelsReady();
        void reply.status(ready ? 200 : 503);
        return { ready };
      });

      async function metadataRoute(request: FastifyRequest<{ Params: ModelParams }>) {
        await ctx.authenticate(request, 'predict');
        const { served, lv } = servedVersion(request.params);
        return modelMetadata(served.name, answeringVersions(served), lv.io);
      }
      v2.get<{ Params: ModelParams }>('/models/:name', metadataRoute);
      v2.get<{ Params: ModelParams }>('/models/:name/versions/:version', metadataRoute);

      async function readyRoute(request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) {
        await ctx.authenticate(request, 'predict');
        let ready = true;
        try {
          servedVersion(request.params);
        } catch (err) {
          // A model still loading is not ready (503, like /readyz); one not served is a 404.
          if (!(err instanceof ServingError && err.code === 'unavailable')) throw err;
          ready = false;
        }
        void reply.status(ready ? 200 : 503);
        return { name: request.params.name, ready };
      }
      v2.get<{ Params: ModelParams }>('/models/:name/ready', readyRoute);
      v2.get<{ Params: ModelParams }>('/models/:name/versions/:version/ready', readyRoute);

      async function inferRoute(request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) {
        const startedAt = performance.now();
        const principal = principalOf(request);
        const body = request.body as V2Body | undefined;
        if (body === undefined) throw new ServingError('badRequest', 'the request needs a JSON body (an inference request)');
        const infer = parseBody(bodySchema, body.json);
        const model = request.params.name;
        // The champion's columns and outputs are the ones the model metadata told the client about.
        const champion = championOf(ctx.models, model);
        const wanted = request.params.version === undefined ? undefined : versionOf(request.params.version);
        if (wanted !== undefined) servedVersion(request.params);
        checkRequestedOutputs(infer, outputTensorsOf(champion.io.task), model);
        const tensors = decodeInputs(infer, body.binary, champion.io, model, ctx.settings.maxInstances);
        const instances = instancesOf(tensors, champion.io);
        ctx.limitRows(principal, instances.length);
        const header = request.headers['x-routing-key'];
        const routingKey =
          infer.parameters?.routing_key ??
          (typeof header === 'string' && header ? parseHeader(routingKeySchema, 'X-Routing-Key', header) : undefined);
        const requestId = issueRequestId(principal, request.id, request.headers['x-request-id'] ?? infer.id);
        void reply.header('x-request-id', requestId);
        const out = await ctx.predict({
          model,
          instances,
          requestId,
          startedAt,
          ...(routingKey !== undefined ? { routingKey } : {}),
        });
        const version = out.predictions[0]!.version;
        // A request for one version is answered by that version or not at all: with a canary
        // live, the arm is chosen per request (by routing key, else at random), and an answer from
        // the other arm would be mislabelled.
        if (wanted !== undefined && version !== wanted)
          throw new ServingError(
            'notFound',
            `${model} v${wanted} did not serve this request (it was routed to v${version}); send X-Routing-Key or ` +
              `parameters.routing_key to stick to one arm, or call /v2/models/${model}/infer`,
          );
        const { json, binary } = inferResponse(
          infer,
          { model_name: out.model, model_version: String(version), id: infer.id ?? out.requestId },
          outputsOf(out.predictions),
        );
        if (binary.length === 0) return json;
        const header64 = Buffer.from(JSON.stringify(json), 'utf8');
        void reply.header('inference-header-content-length', String(header64.byteLength));
        void reply.type('application/octet-stream');
        return Buffer.concat([header64, ...binary]);
      }
      const inferOptions = { onRequest: authenticateBeforeBody(ctx.authenticate, 'predict', ctx.limitRows) };
      v2.post<{ Params: ModelParams }>('/models/:name/infer', inferOptions, inferRoute);
      v2.post<{ Params: ModelParams }>('/models/:name/versions/:version/infer', inferOptions, inferRoute);

      /** The served model and the version a request names (the champion when it names none). */
      function servedVersion(params: ModelParams): { served: ServedModel; lv: LoadedVersion } {
        const champion = championOf(ctx.models, params.name);
        const served = ctx.models.get(params.name)!;
        if (params.version === undefined) return { served, lv: champion };
        const version = versionOf(params.version);
        const answering = answeringVersions(served);
        if (!answering.includes(version))
          throw new ServingError(
            'notFound',
            `${served.name} v${version} is not served (versions answering requests: ${answering.map((v) => `v${v}`).join(', ')})`,
          );
        const lv = served.versions.get(version);
        if (!lv) throw new ServingError('unavailable', `${served.name} v${version} is not loaded yet`, 1);
        return { served, lv };
      }
    },
    { prefix: '/v2' },
  );
}

/** The versions that answer requests: the champion, and the canary while it has traffic. */
function answeringVersions(served: ServedModel): number[] {
  const { champion, canary } = served.route;
  return canary && canary.weight > 0 && canary.version !== champion ? [champion, canary.version] : [champion];
}

function versionOf(value: string): number {
  if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > 2_147_483_647)
    throw new ServingError('badRequest', `model version must be a positive integer, not ${JSON.stringify(value.slice(0, 32))}`);
  return Number(value);
}

/** Flywheel's error handler answers `{error: {code, message}, requestId}`; V2 clients read
 * `{error: "<message>"}`. Rewriting the shape here keeps one place that maps errors to statuses. */
function useV2Errors(v2: FastifyInstance): void {
  v2.addHook('preSerialization', async function v2ErrorShape(_request, reply, payload: unknown) {
    if (reply.statusCode < 400 || !isFlywheelError(payload)) return payload;
    return { error: payload.error.message };
  });
  v2.setNotFoundHandler(async function v2NotFound(request, reply) {
    void reply.status(404);
    return { error: `no route ${request.method} ${request.url.split('?')[0]}` };
  });
}

function isFlywheelError(payload: unknown): payload is ServingErrorBody<string> {
  if (typeof payload !== 'object' || payload === null || !('error' in payload)) return false;
  const error = (payload as { error: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string';
}

/**
 * Infer bodies are JSON, or a JSON header plus binary tensors (application/octet-stream, or JSON
 * or no content type at all from tritonclient): one parser reads them all as bytes and splits them
 * by `Inference-Header-Content-Length`. Any other content type is a 415.
 */
function useV2BodyParsers(v2: FastifyInstance, bodyLimit: number): void {
  const defaultJson = v2.getDefaultJsonParser('error', 'error');
  function parse(request: FastifyRequest, raw: Buffer): V2Body {
    return splitBody(raw, request.headers[HEADER_LENGTH], (text) => {
      let parsed: unknown;
      let failure: unknown;
      // Synchronous (secure-json-parse), though typed as if it might not be.
      void defaultJson(request, text, (err, value) => {
        failure = err;
        parsed = value;
      });
      if (failure === undefined || failure === null) return parsed;
      // Fastify's message says nothing of where the JSON broke (and names a content type the
      // client may not have sent); JSON.parse's does. If it parses, the refusal was a __proto__.
      try {
        JSON.parse(text);
      } catch (err) {
        throw err instanceof Error ? err : failure;
      }
      throw new Error('a "__proto__" or "constructor" property is not accepted');
    });
  }
  v2.removeAllContentTypeParsers();
  v2.addContentTypeParser(
    ['application/json', 'application/octet-stream'],
    { parseAs: 'buffer', bodyLimit },
    async function v2BodyParser(request: FastifyRequest, raw: Buffer) {
      return parse(request, raw);
    },
  );
  v2.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, async function v2UntypedBodyParser(request: FastifyRequest, raw: Buffer) {
    if (request.headers['content-type'] !== undefined)
      throw new ServingError('unsupportedMediaType', 'send the inference request as application/json or application/octet-stream');
    return parse(request, raw);
  });
}

const modelParams = z.strictObject({ name: modelNameSchema });
const versionParams = z.strictObject({ name: modelNameSchema, version: z.string().regex(/^[1-9]\d{0,9}$/) });
const errors = {
  400: { description: 'a malformed request, tensor or binary part', schema: v2ErrorSchema },
  401: { description: 'no, an invalid or a revoked API key', schema: v2ErrorSchema },
  403: { description: 'the key lacks the predict scope', schema: v2ErrorSchema },
  404: { description: 'no such model, or the version did not serve the request', schema: v2ErrorSchema },
  429: { description: 'rate or row limit exceeded (Retry-After)', schema: v2ErrorSchema },
  503: { description: 'the model is still loading, or the server is overloaded (Retry-After)', schema: v2ErrorSchema },
};
const tags = ['v2'];

/** The V2 routes for the OpenAPI document. */
export const V2_ROUTE_DOCS: RouteDoc[] = [
  {
    method: 'GET',
    url: '/v2',
    operationId: 'v2ServerMetadata',
    summary: 'Server metadata: name, version and protocol extensions',
    tags,
    scope: 'none',
    responses: { 200: { description: 'server metadata', schema: serverMetadataSchema } },
  },
  {
    method: 'GET',
    url: '/v2/health/live',
    operationId: 'v2ServerLive',
    summary: 'Liveness',
    tags,
    scope: 'none',
    responses: { 200: { description: 'the server is up', schema: serverLiveSchema } },
  },
  {
    method: 'GET',
    url: '/v2/health/ready',
    operationId: 'v2ServerReady',
    summary: 'Readiness (as /readyz: every served model has a loaded champion)',
    tags,
    scope: 'none',
    responses: {
      200: { description: 'ready', schema: serverReadySchema },
      503: { description: 'not ready', schema: serverReadySchema },
    },
  },
  ...(['', '/versions/:version'] as const).flatMap((suffix): RouteDoc[] => {
    const versioned = suffix !== '';
    const params = versioned ? versionParams : modelParams;
    const V = versioned ? 'Version' : '';
    return [
      {
        method: 'GET',
        url: `/v2/models/:name${suffix}`,
        operationId: `v2Model${V}Metadata`,
        summary: `Model metadata: its input columns as tensors and its task's outputs${versioned ? ' (of one served version)' : ''}`,
        tags,
        scope: 'predict',
        params,
        responses: { 200: { description: 'model metadata', schema: modelMetadataSchema }, ...errors },
      },
      {
        method: 'GET',
        url: `/v2/models/:name${suffix}/ready`,
        operationId: `v2Model${V}Ready`,
        summary: 'Whether the model (version) is loaded',
        tags,
        scope: 'predict',
        params,
        responses: {
          200: { description: 'ready', schema: modelReadySchema },
          ...errors,
          503: { description: 'still loading', schema: modelReadySchema },
        },
      },
      {
        method: 'POST',
        url: `/v2/models/:name${suffix}/infer`,
        operationId: `v2Model${V}Infer`,
        summary:
          'Inference: one input tensor per input column, a row per instance. With the binary tensor data extension the ' +
          'body is this JSON (Inference-Header-Content-Length bytes) followed by the tensors, as application/octet-stream' +
          (versioned ? '; answered only by that version (404 when the request is routed to another arm)' : ''),
        tags,
        scope: 'predict',
        params,
        body: inferRequestSchema,
        responses: {
          200: {
            description: 'the outputs (JSON, or a JSON header followed by binary outputs as application/octet-stream)',
            schema: inferResponseSchema,
          },
          ...errors,
        },
      },
    ];
  }),
];
