// The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. A unit test checks
// that every route the app registers is described here and nothing else.

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const modelParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'Registered model name' };
const secured = [{ apiKey: [] }, { bearer: [] }];

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'Flywheel inference server',
    version: '1',
    description:
      'Serves registered ONNX models with dynamic batching, champion/canary routing, a response cache, async jobs, a prediction log, API keys and rate limits. Every response carries `x-request-id`.',
  },
  components: {
    securitySchemes: {
      apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer fw_… (create with `flywheel keys create`)' },
    },
    schemas: {
      Instance: {
        type: 'object',
        description:
          "The served model's input columns by name: every column its fitted features read (null for a missing value), and no other field. Which columns, and what each holds, differ by model: GET /v1/models/{name}/schema lists them with an example instance. Values are null, booleans, finite numbers, strings (at most 4096 characters, no NUL or unpaired surrogate; timestamps are naive, like 2001-03-04T13:45:00) or flat arrays of numbers (vector features); a category outside the fitted vocabulary is encoded as unseen.",
        maxProperties: 512,
        additionalProperties: {
          type: ['string', 'number', 'boolean', 'null', 'array'],
          items: { type: ['number', 'null'] },
        },
      },
      PredictRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['instances'],
        properties: {
          instances: {
            type: 'array',
            minItems: 1,
            items: { $ref: '#/components/schemas/Instance' },
            description: 'At most FLYWHEEL_SERVE_MAX_INSTANCES',
          },
          routingKey: { type: 'string', description: 'Sticky canary routing key (or header X-Routing-Key)' },
        },
      },
      Prediction: {
        description: "By the model's task (GET /v1/models/{name}/schema says which): binary, multiclass or regression.",
        oneOf: [
          {
            type: 'object',
            title: 'binary',
            required: ['probability', 'version', 'cached'],
            properties: {
              probability: { type: 'number', minimum: 0, maximum: 1, description: 'P(label = 1)' },
              version: { type: 'integer', description: 'Model version that served it' },
              cached: { type: 'boolean' },
            },
          },
          {
            type: 'object',
            title: 'multiclass',
            required: ['class', 'probabilities', 'version', 'cached'],
            properties: {
              class: { type: 'string', description: 'The most probable class' },
              probabilities: { type: 'object', additionalProperties: { type: 'number' }, description: 'P(class) for every class' },
              version: { type: 'integer' },
              cached: { type: 'boolean' },
            },
          },
          {
            type: 'object',
            title: 'regression',
            required: ['value', 'version', 'cached'],
            properties: { value: { type: 'number' }, version: { type: 'integer' }, cached: { type: 'boolean' } },
          },
        ],
      },
      ModelSchema: {
        type: 'object',
        required: ['model', 'version', 'task', 'predictionFields', 'inputs', 'instanceSchema', 'example'],
        properties: {
          model: { type: 'string' },
          version: { type: 'integer', description: 'The champion version whose fitted features these are' },
          task: { enum: ['binary', 'multiclass', 'regression'] },
          classes: { type: 'array', items: { type: 'string' }, description: 'Multiclass: the classes, in output order' },
          predictionFields: { type: 'array', items: { type: 'string' } },
          inputs: {
            type: 'array',
            items: {
              type: 'object',
              required: ['name', 'kind'],
              properties: {
                name: { type: 'string' },
                kind: { type: 'string', description: 'number, string, boolean, timestamp or vector[<length>]' },
              },
            },
          },
          instanceSchema: { type: 'object', description: 'The instance as a JSON Schema (strict: no other fields)' },
          example: { type: 'object', description: 'A valid instance built from the fitted features' },
        },
      },
      PredictResponse: {
        type: 'object',
        required: ['requestId', 'model', 'predictions'],
        properties: {
          requestId: { type: 'string' },
          model: { type: 'string' },
          predictions: { type: 'array', items: { $ref: '#/components/schemas/Prediction' } },
        },
      },
      JobRequest: {
        type: 'object',
        additionalProperties: false,
        required: ['instances'],
        properties: {
          instances: {
            type: 'array',
            minItems: 1,
            items: { $ref: '#/components/schemas/Instance' },
            description: 'At most 10 × FLYWHEEL_SERVE_MAX_INSTANCES',
          },
          routingKey: { type: 'string' },
          webhookUrl: {
            type: 'string',
            format: 'uri',
            description:
              'POSTed {jobId, status, result} on completion, signed (X-Flywheel-Signature: v1=HMAC-SHA256 of "<X-Flywheel-Timestamp>.<body>"); must be a public address unless the server allow-lists it',
          },
        },
      },
      Job: {
        type: 'object',
        required: ['jobId', 'status'],
        properties: {
          jobId: { type: 'string', examples: ['job-3f0c…'] },
          status: { enum: ['running', 'completed', 'failed'] },
          startedAt: { type: 'string', format: 'date-time' },
          result: {
            type: 'object',
            description: 'When completed: requestId, model, predictions (as a predict answers, without cached), completedAt, webhook',
          },
          error: { type: 'string', description: 'When failed' },
        },
      },
      Feedback: {
        type: 'object',
        additionalProperties: false,
        required: ['requestId', 'label'],
        properties: {
          requestId: {
            type: 'string',
            description: 'The requestId a prediction answered with (a namespaced <keyId>:<id> only from that key)',
          },
          instance: { type: 'integer', minimum: 0, default: 0 },
          label: {
            type: ['number', 'string'],
            description: 'The true outcome: binary 0 or 1, a regression value, or a multiclass class name (stored as label_class)',
          },
          model: {
            type: 'string',
            description:
              'The model that served the prediction: the label is then checked against its task (binary 0/1, one of its classes, a finite number)',
          },
        },
      },
      Routing: {
        type: 'object',
        properties: {
          model: { type: 'string' },
          champion: { type: 'object', properties: { version: { type: 'integer' } } },
          canary: {
            type: ['object', 'null'],
            properties: { version: { type: 'integer' }, weight: { type: 'number', minimum: 0, maximum: 1 } },
          },
          shadow: { type: ['object', 'null'], properties: { version: { type: 'integer' } } },
          updatedBy: { type: ['string', 'null'] },
          updatedAt: { type: ['string', 'null'], format: 'date-time' },
        },
      },
      RoutingChange: {
        type: 'object',
        additionalProperties: false,
        description: 'Omitted fields keep their value; null clears.',
        properties: {
          canary: {
            type: ['object', 'null'],
            properties: { version: { type: 'integer' }, weight: { type: 'number', minimum: 0, maximum: 1 } },
          },
          shadow: { type: ['object', 'null'], properties: { version: { type: 'integer' } } },
        },
      },
      DataArrived: {
        type: 'object',
        additionalProperties: false,
        required: ['dataset', 'partition', 'uris'],
        properties: {
          eventId: { type: 'string', description: 'Stable id; unset: derived from dataset, partition and URIs' },
          dataset: { type: 'string', examples: ['sales'] },
          partition: { type: 'string', examples: ['2001-03'] },
          uris: { type: 'array', minItems: 1, items: { type: 'string', description: 'file:// or s3:// URI' } },
          retrain: { type: 'boolean', default: true, description: 'false: record the partition for the next cycle without starting one' },
        },
      },
      Error: {
        type: 'object',
        required: ['error', 'requestId'],
        properties: {
          error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
          requestId: { type: 'string' },
        },
      },
    },
  },
  paths: {
    '/v1/models/{name}/predict': {
      post: {
        summary: 'Predict for one or many instances',
        security: secured,
        parameters: [modelParam, { name: 'X-Routing-Key', in: 'header', schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictRequest' } } } },
        responses: {
          200: {
            description: 'Predictions',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictResponse' } } },
          },
          400: errorResponse('Malformed JSON, or an invalid, missing or unknown field (up to five named: instances[i].<field>)'),
          401: errorResponse('Missing or invalid API key'),
          403: errorResponse('Key lacks the predict scope'),
          404: errorResponse('Model not served'),
          413: errorResponse('Body too large'),
          415: errorResponse('Not application/json'),
          429: errorResponse('Rate limit exceeded (Retry-After)'),
          503: errorResponse('Overloaded: the queue is full (Retry-After)'),
          504: errorResponse('Waited longer than FLYWHEEL_SERVE_TIMEOUT_MS'),
        },
      },
    },
    '/v1/models/{name}/schema': {
      get: {
        summary: 'What the served model reads and predicts: its input columns with kinds, task, classes and an example instance',
        security: secured,
        parameters: [modelParam],
        responses: {
          200: { description: 'Model schema', content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelSchema' } } } },
          401: errorResponse('Missing or invalid API key'),
          404: errorResponse('Model not served'),
          503: errorResponse('Champion not loaded yet (Retry-After)'),
        },
      },
    },
    '/v1/models': {
      get: {
        summary: 'Models served and their routing',
        security: secured,
        responses: { 200: { description: 'Served models' }, 401: errorResponse('Missing or invalid API key') },
      },
    },
    '/v1/models/{name}/jobs': {
      post: {
        summary: 'Submit an async inference job',
        security: secured,
        parameters: [modelParam],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/JobRequest' } } } },
        responses: {
          202: {
            description: 'Accepted; poll the Location',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } },
          },
          400: errorResponse('Invalid body, or instances the champion cannot read (fields named as a predict would)'),
          404: errorResponse('Model not served'),
          503: errorResponse('Workflow service unreachable'),
        },
      },
    },
    '/v1/jobs/{id}': {
      get: {
        summary: 'Status and result of an async job',
        security: secured,
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
        responses: {
          200: { description: 'Job', content: { 'application/json': { schema: { $ref: '#/components/schemas/Job' } } } },
          404: errorResponse('No such job'),
        },
      },
    },
    '/v1/feedback': {
      post: {
        summary: 'Store delayed ground truth for a prediction (scope feedback)',
        security: secured,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Feedback' } } } },
        responses: {
          202: { description: 'Stored' },
          400: errorResponse("Invalid body, not a request id this server issued, or a label that does not suit the named model's task"),
          404: errorResponse('The named model is not served'),
          403: errorResponse("Key lacks the feedback scope, or the id is another key's"),
          503: errorResponse('Database unreachable'),
        },
      },
    },
    '/v1/admin/models/{name}/routing': {
      get: {
        summary: 'Current routing',
        security: secured,
        parameters: [modelParam],
        responses: {
          200: { description: 'Routing', content: { 'application/json': { schema: { $ref: '#/components/schemas/Routing' } } } },
          403: errorResponse('Key lacks the admin scope'),
        },
      },
      put: {
        summary: 'Set canary weight and shadow (persisted; every replica follows)',
        security: secured,
        parameters: [modelParam],
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RoutingChange' } } } },
        responses: {
          200: { description: 'New routing', content: { 'application/json': { schema: { $ref: '#/components/schemas/Routing' } } } },
          400: errorResponse('Invalid change'),
          404: errorResponse('Unknown model or version'),
        },
      },
    },
    '/v1/admin/models/{name}/reload': {
      post: {
        summary: 'Re-read registry aliases now (hot swap)',
        security: secured,
        parameters: [modelParam],
        responses: { 200: { description: 'Routing after reload' }, 409: errorResponse('The new version was refused') },
      },
    },
    '/v1/events/data-arrived': {
      post: {
        summary: 'New data arrived: signal-with-start every model lifecycle that consumes the dataset',
        security: secured,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/DataArrived' } } } },
        responses: {
          202: { description: 'Delivered: {eventId, models}' },
          400: errorResponse('Invalid body'),
          403: errorResponse('Key lacks the events scope'),
          503: errorResponse('Workflow service unreachable (retry with the same eventId)'),
        },
      },
    },
    '/healthz': { get: { summary: 'Liveness', responses: { 200: { description: 'Process is up' } } } },
    '/readyz': {
      get: {
        summary:
          'Readiness: every served model has a loaded champion (predictions need nothing else); the body also shows whether the database answers (database), and the prediction log writer (buffered, written, dropped, quarantined, consecutive failures, last error)',
        responses: { 200: { description: 'Ready' }, 503: { description: 'Not ready (reasons in the body)' } },
      },
    },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'Text exposition format' } } } },
    '/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
  },
} as const;
