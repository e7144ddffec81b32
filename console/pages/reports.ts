// Placeholder while the page is written.
import type { FastifyInstance } from 'fastify';
import type { ConsoleContext } from '../context.ts';

export function registerReportRoutes(_app: FastifyInstance, _ctx: ConsoleContext): void {}
