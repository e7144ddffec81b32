// What the OpenAPI document says about one route, declared beside the route from the same zod
// schemas the route validates with, so the document cannot drift from what the server accepts.
import type { z } from 'zod';
import type { ApiKeyScope } from '../../lib/auth/api-keys.ts';

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteResponseDoc {
  description: string;
  /** The body's schema; unset: no body, or one the description explains (an error status: the
   * error body). */
  schema?: z.ZodType;
  /** @default 'application/json' */
  contentType?: string;
}

export interface RouteDoc {
  method: RouteMethod;
  /** Fastify's spelling (`/v1/models/:name/predict`); the document writes `{name}`. */
  url: string;
  /** Unique across the document; what generated clients name their methods. */
  operationId: string;
  summary: string;
  /** Longer prose than the summary; unset: none. */
  description?: string;
  tags?: string[];
  /** Which API key scope the route needs; 'none': open (health, metrics, the document itself). */
  scope: ApiKeyScope | 'none';
  /** An object schema: one path parameter per property. */
  params?: z.ZodType;
  /** An object schema: one query parameter per property. */
  query?: z.ZodType;
  /** An object schema: one header parameter per property (`X-Routing-Key`). */
  headers?: z.ZodType;
  body?: z.ZodType;
  /** Status code → response. */
  responses: Record<number, RouteResponseDoc>;
}
