// A worker's HTTP face for the platform: /healthz (the process is up), /readyz (it serves its
// task queues; 503 with the reasons while starting, draining or failed) and /metrics (Prometheus
// text). node:http only: three read-only routes need no framework.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log.ts';

export interface Readiness {
  ready: boolean;
  /** Why not ready; empty when ready. */
  reasons: string[];
}

export interface HealthServerOptions {
  host: string;
  /** 0: a free port (tests); the bound one is in `url`. */
  port: number;
  readiness: () => Promise<Readiness>;
  /** The Prometheus exposition, with its content type. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  logger: Logger;
  /** Answers first when it returns true (the CPU worker's `POST /hooks/git/<env>`, lib/gitops/webhook.ts). */
  hooks?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
}

export interface HealthServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const routes: Record<string, (res: ServerResponse) => Promise<void>> = {
    '/healthz': async (res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (res) => {
      const r = await options.readiness();
      sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', reasons: r.reasons });
    },
    '/metrics': async (res) => {
      const { contentType, body } = await options.metrics();
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    },
  };

  const server = createServer(function healthRequest(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? '/').split('?')[0]!;
    if (options.hooks && !routes[path]) {
      options.hooks(req, res).then(
        (answered) => answered || sendJson(res, 404, { error: `no route ${path}; try /healthz, /readyz or /metrics` }),
        (err: unknown) => {
          options.logger.error({ err, path }, 'hook failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        },
      );
      return;
    }
    const route = routes[path];
    if (!route) return sendJson(res, 404, { error: `no route ${path}; try /healthz, /readyz or /metrics` });
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: `${path} answers GET only` });
    route(res).catch((err: unknown) => {
      options.logger.error({ err, path }, 'health endpoint failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  // Probes and scrapes are short; an idle keep-alive must not hold the process open on exit.
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`FLYWHEEL_WORKER_HTTP_PORT ${options.port} is in use on ${options.host}; pick another (or 0 for a free one)`)
          : err,
      ),
    );
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
