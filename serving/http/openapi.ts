// The OpenAPI 3.1 document, generated from the route modules' RouteDocs: the same zod schemas the
// server validates with, converted by zod's own JSON Schema output. Served generic at GET
// /openapi.json, and per model (its instance columns and its task's prediction written out) at
// GET /v1/models/{name}/openapi.json.
import { z } from 'zod';
import type { ModelIO } from '../../lib/features/tabular/model-io.ts';
import { sourceColumn } from '../../lib/features/tabular/spec.ts';
import { modelSchemaView } from '../model-schema.ts';
import { errorBodySchema } from './response-schemas.ts';
import type { RouteDoc, RouteResponseDoc } from './route-docs.ts';

type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  components: {
    securitySchemes: Record<string, unknown>;
    headers: Record<string, unknown>;
    schemas: Record<string, JsonSchema>;
  };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, OperationObject>>;
}

export interface OperationObject {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  security: Array<Record<string, string[]>>;
  parameters?: ParameterObject[];
  requestBody?: { required: true; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, ResponseObject>;
}

interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
  description?: string;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, unknown>;
  content?: Record<string, { schema: JsonSchema }>;
}

export interface OpenApiOptions {
  /**
   * Write the document for one served model: its version's input columns as the `Instance`
   * schema, its task's prediction as the only `Prediction`, and `{name}` fixed to it.
   * @default undefined (the generic document: any model)
   */
  model?: { name: string; version: number; io: ModelIO };
}

const INFO_DESCRIPTION =
  'Serves registered ONNX models with dynamic batching, champion/canary routing, a response cache, async jobs, a prediction log, API keys and rate limits. Every response carries `x-request-id`. Generated from the schemas the server validates with; GET /v1/models/{name}/openapi.json is this document written out for one model (its input columns and its prediction).';

const TAGS = [
  { name: 'predict', description: 'Predictions, model schemas and async jobs (scope predict)' },
  { name: 'feedback', description: 'Delayed ground truth (scope feedback)' },
  { name: 'admin', description: 'Canary, shadow and hot swaps (scope admin)' },
  { name: 'events', description: 'Data arrival (scope events)' },
  { name: 'ops', description: 'Health, readiness, metrics and this document (no key)' },
];

/** What the generator adds to a secured route that does not say otherwise. */
const AUTH_ERRORS: Record<number, string> = {
  401: 'Missing or invalid API key',
  429: 'Rate limit exceeded (Retry-After)',
};

const ref = (id: string) => `#/components/schemas/${id}`;

/** `$ref`s zod writes into `$defs`, pointed at the document's components instead. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value))
    out[key] = key === '$ref' && typeof inner === 'string' ? inner.replace(/^#\/\$defs\//, '#/components/schemas/') : rewriteRefs(inner);
  return out;
}

/** Converts zod schemas, collecting the named ones (those with a meta `id`) as components. */
function createConverter(components: Record<string, JsonSchema>) {
  return function convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    // Refinements and transforms are code: they vanish (unrepresentable: 'any'), and a schema
    // that checks in code states the rule in its meta instead (see `instanceSchema`).
    const json = rewriteRefs(z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' })) as JsonSchema;
    const { $schema: _dialect, $defs, ...root } = json;
    for (const [id, def] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      const seen = components[id];
      // One name, two shapes (say, an id used in a request and a response whose input and output
      // differ) would make every reference ambiguous.
      if (seen && JSON.stringify(seen) !== JSON.stringify(def))
        throw new Error(`schema id ${id} converts to two different JSON Schemas (${io}); give them different ids`);
      components[id] = def;
    }
    return root;
  };
}

function parametersOf(schema: z.ZodType | undefined, where: ParameterObject['in'], convert: ReturnType<typeof createConverter>) {
  if (!schema) return [];
  const json = convert(schema, 'input');
  const required = new Set((json.required as string[] | undefined) ?? []);
  return Object.entries((json.properties ?? {}) as Record<string, JsonSchema>).map(([name, property]): ParameterObject => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      schema: rest,
      ...(typeof description === 'string' ? { description } : {}),
    };
  });
}

function responseOf(status: number, doc: RouteResponseDoc, convert: ReturnType<typeof createConverter>): ResponseObject {
  const headers = { 'X-Request-Id': { $ref: '#/components/headers/RequestId' } };
  const schema = doc.schema ? convert(doc.schema, 'output') : status >= 400 ? { $ref: ref('Error') } : undefined;
  return {
    description: doc.description,
    headers,
    ...(schema ? { content: { [doc.contentType ?? 'application/json']: { schema } } } : {}),
  };
}

function operationOf(doc: RouteDoc, convert: ReturnType<typeof createConverter>): OperationObject {
  const responses: Record<number, RouteResponseDoc> = { ...doc.responses };
  if (doc.scope !== 'none') {
    for (const [status, description] of Object.entries(AUTH_ERRORS)) responses[Number(status)] ??= { description };
    responses[403] ??= { description: `Key lacks the ${doc.scope} scope` };
  }
  const parameters = [
    ...parametersOf(doc.params, 'path', convert),
    ...parametersOf(doc.query, 'query', convert),
    ...parametersOf(doc.headers, 'header', convert),
  ];
  const scopeNote = doc.scope === 'none' ? 'No API key needed.' : `Needs an API key with the \`${doc.scope}\` scope.`;
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    description: doc.description ? `${doc.description}\n\n${scopeNote}` : scopeNote,
    ...(doc.tags ? { tags: doc.tags } : {}),
    // OpenAPI 3.1 lets a non-OAuth requirement list roles: the key's scope is that role.
    security: doc.scope === 'none' ? [] : [{ apiKey: [doc.scope] }, { bearer: [doc.scope] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(doc.body, 'input') } } } } : {}),
    responses: Object.fromEntries(
      Object.entries(responses)
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, response]) => [status, responseOf(Number(status), response, convert)]),
    ),
  };
}

/** `/v1/models/:name/predict` → `/v1/models/{name}/predict`. */
export function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, '{$1}');
}

/**
 * The document for every route in `docs` (one list per route module; the order is the
 * document's). Throws on a repeated operationId or method+path: a generated client would lose one.
 */
export function openApiDocument(docs: ReadonlyArray<readonly RouteDoc[]>, options: OpenApiOptions = {}): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {};
  const convert = createConverter(schemas);
  // Error responses point at the error body whether or not a route named its schema.
  convert(errorBodySchema, 'output');
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  for (const doc of docs.flat()) {
    if (operationIds.has(doc.operationId)) throw new Error(`operationId ${doc.operationId} is used twice`);
    operationIds.add(doc.operationId);
    const path = openApiPath(doc.url);
    const item = (paths[path] ??= {});
    const method = doc.method.toLowerCase();
    if (item[method]) throw new Error(`${doc.method} ${doc.url} is documented twice`);
    item[method] = operationOf(doc, convert);
  }
  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: 'Flywheel inference server', version: '1', description: INFO_DESCRIPTION },
    components: {
      securitySchemes: {
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (create with `flywheel keys create`)' },
        bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer fw_… (create with `flywheel keys create`)' },
      },
      headers: {
        RequestId: { description: "The request's id (a prediction's is the one feedback quotes)", schema: { type: 'string' } },
      },
      schemas,
    },
    tags: TAGS,
    paths,
  };
  return options.model ? forModel(document, options.model) : document;
}

/** Known categories shown per column: a hint for client authors, not a rule (enums would be
 * wrong: a category outside the vocabulary is accepted and encoded as unseen). */
const MAX_EXAMPLE_CATEGORIES = 20;

/** Each categorical input column's fitted vocabulary (a column read by two features: the first's). */
function vocabularies(io: ModelIO): Map<string, string[]> {
  const out = new Map<string, string[]>();
  io.fitted.spec.features.forEach((def, i) => {
    const state = io.fitted.state[i];
    const column = sourceColumn(def);
    if (def.kind === 'categorical' && state?.kind === 'categorical' && state.vocabulary?.length && !out.has(column))
      out.set(column, state.vocabulary);
  });
  return out;
}

/** The prediction variants by task; the model's keeps its place, the others leave. */
const PREDICTIONS = { binary: 'BinaryPrediction', multiclass: 'MulticlassPrediction', regression: 'RegressionPrediction' } as const;

function forModel(document: OpenApiDocument, model: NonNullable<OpenApiOptions['model']>): OpenApiDocument {
  const view = modelSchemaView(model.name, model.version, model.io);
  const schemas = { ...document.components.schemas };
  const properties = view.instanceSchema.properties as Record<string, JsonSchema>;
  const categories = vocabularies(model.io);
  schemas.Instance = {
    ...view.instanceSchema,
    properties: Object.fromEntries(
      Object.entries(properties).map(([column, schema]) => {
        const known = categories.get(column);
        return [column, known ? { ...schema, examples: known.slice(0, MAX_EXAMPLE_CATEGORIES) } : schema];
      }),
    ),
    description: `An instance for ${model.name} v${model.version}: every column its fitted features read (null for a missing value), and no other field. Strings are at most 4096 characters with no NUL or unpaired surrogate; a category outside the fitted vocabulary is encoded as unseen.`,
    examples: [view.example],
  };
  const kind = model.io.task.kind;
  for (const [task, id] of Object.entries(PREDICTIONS)) if (task !== kind) delete schemas[id];
  const own = PREDICTIONS[kind];
  if (model.io.task.kind === 'multiclass') {
    const classes = [...model.io.task.classes];
    const base = schemas[own] as JsonSchema & { properties: Record<string, JsonSchema> };
    schemas[own] = {
      ...base,
      properties: {
        ...base.properties,
        class: { ...base.properties.class, enum: classes },
        probabilities: {
          ...base.properties.probabilities,
          properties: Object.fromEntries(classes.map((c) => [c, { type: 'number', minimum: 0, maximum: 1 }])),
          required: classes,
        },
      },
    };
  }
  schemas.Prediction = { $ref: ref(own), description: `${model.name} is a ${kind} model.` };
  const paths = Object.fromEntries(
    Object.entries(document.paths).map(([path, item]) => [
      path,
      Object.fromEntries(Object.entries(item).map(([method, operation]) => [method, withModelName(operation, model.name)])),
    ]),
  );
  return {
    ...document,
    info: {
      ...document.info,
      title: `Flywheel inference server: ${model.name} v${model.version}`,
      description: `${document.info.description}\n\nWritten out for ${model.name} v${model.version} (its champion when the document was made: the document changes with the champion).`,
    },
    components: { ...document.components, schemas },
    paths,
  };
}

/** The `{name}` path parameter fixed to the model the document is for. */
function withModelName(operation: OperationObject, name: string): OperationObject {
  if (!operation.parameters) return operation;
  return {
    ...operation,
    parameters: operation.parameters.map((p) =>
      p.in === 'path' && p.name === 'name' ? { ...p, schema: { ...p.schema, enum: [name] } } : p,
    ),
  };
}
