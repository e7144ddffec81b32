// What the OpenAPI document says about one route, declared beside the route from the same zod
// schemas the route validates with, so the document cannot drift from what the server accepts.
import type { z } from 'zod';

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteResponseDoc {
  description: string;
  /** The body's schema; unset: no body, or one the description explains. */
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
  tags?: string[];
  /** Which API key scope the route needs; 'none': open (health, metrics, the document itself). */
  scope: 'predict' | 'admin' | 'none';
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Status code → response. */
  responses: Record<number, RouteResponseDoc>;
}
