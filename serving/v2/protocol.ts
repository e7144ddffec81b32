// The JSON shapes of the Open Inference Protocol (KServe V2) REST API that Flywheel speaks: what a
// client sends (validated with these schemas) and what it gets back (declared for the OpenAPI
// document). https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/
import { z } from 'zod';
import { routingKeySchema, text } from '../http/schemas.ts';

// V2 `parameters` are free-form (loose objects): a client library adds its own (tritonclient:
// `priority`, `timeout`, …). Flywheel reads the ones named in these schemas and ignores the others.

/** Dimensions are bounded before any product is taken; the row and element limits come after. */
const dimension = z.number().int().min(0).max(2_147_483_647);

export const inferInputSchema = z.strictObject({
  name: text(1, 128),
  shape: z.array(dimension).min(1).max(8),
  /** Checked by serving/v2/tensors.ts, so an unknown one is named with its tensor. */
  datatype: z.string().max(32),
  parameters: z
    .looseObject({
      /** The binary extension: this tensor's bytes are in the body after the JSON header. */
      binary_data_size: z.number().int().min(0).optional(),
    })
    .optional(),
  data: z.array(z.unknown()).optional(),
});

export const requestedOutputSchema = z.strictObject({
  name: text(1, 128),
  parameters: z
    .looseObject({
      /** Return this output in binary after the JSON header. */
      binary_data: z.boolean().optional(),
    })
    .optional(),
});

export const inferRequestSchema = z.strictObject({
  /** Echoed in the response; also the prediction's client id when no X-Request-Id is sent. */
  id: z.string().max(256).optional(),
  parameters: z
    .looseObject({
      /** Return every output in binary (tritonclient sets it when no outputs are named). */
      binary_data_output: z.boolean().optional(),
      /** Sticks the request to one arm of a canary, like X-Routing-Key. */
      routing_key: routingKeySchema.optional(),
    })
    .optional(),
  inputs: z.array(inferInputSchema).min(1).max(512),
  /** The outputs to return, by name; unset: all of them. */
  outputs: z.array(requestedOutputSchema).min(1).max(16).optional(),
});

export type InferRequest = z.output<typeof inferRequestSchema>;
export type InferInput = z.output<typeof inferInputSchema>;

const tensorMetadataSchema = z.object({
  name: z.string(),
  datatype: z.string(),
  /** -1: any number of rows. */
  shape: z.array(z.number().int()),
});

export const serverMetadataSchema = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });
export const serverLiveSchema = z.object({ live: z.boolean() });
export const serverReadySchema = z.object({ ready: z.boolean() });
export const modelReadySchema = z.object({ name: z.string(), ready: z.boolean() });

export const modelMetadataSchema = z.object({
  name: z.string(),
  /** The versions that may answer a request (champion, and canary while one runs). */
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(tensorMetadataSchema),
  outputs: z.array(tensorMetadataSchema.extend({ parameters: z.object({ classes: z.array(z.string()) }).optional() })),
});

export type TensorMetadata = z.output<typeof tensorMetadataSchema>;
export type ModelMetadata = z.output<typeof modelMetadataSchema>;

export const inferResponseSchema = z.object({
  model_name: z.string(),
  /** The version that answered this request. */
  model_version: z.string(),
  id: z.string(),
  outputs: z.array(
    z.object({
      name: z.string(),
      datatype: z.string(),
      shape: z.array(z.number().int()),
      parameters: z.object({ binary_data_size: z.number().int() }).optional(),
      data: z.array(z.union([z.number(), z.string()])).optional(),
    }),
  ),
});

export type InferResponse = z.output<typeof inferResponseSchema>;

/** The error body V2 clients read (tritonclient raises with its `error`). */
export const v2ErrorSchema = z.object({ error: z.string() });
