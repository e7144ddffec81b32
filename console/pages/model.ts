// Placeholder while the page is written.
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';

export function registerModelRoutes(_app: FastifyInstance, _ctx: ConsoleContext): void {}
