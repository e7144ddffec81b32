// What every console page module receives. The server (console/server.ts) builds one
// ConsoleContext per process; page modules register their routes with
// `register…Routes(app, ctx)` and never open clients of their own.
import type { Client } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';
import type { ModelRegistry } from '../lib/registry/index.ts';
import type { ArtifactStore, S3StoreOptions } from '../lib/storage/index.ts';
import type { Html } from './html.ts';
import { sameOrigin, type AuthResult, type ConsoleAuth } from './auth.ts';
import { renderLayout } from './layout.ts';
import type { PresignGet } from './presign.ts';

export interface ConsoleDeps {
  registry: ModelRegistry;
  db: Database;
  store: ArtifactStore;
  temporal: Client;
  namespace: string;
  /** The Temporal Web UI's base URL (http://127.0.0.1:8233); absent: no links into it. */
  webUiUrl?: string;
  logger: Logger;
  /** S3 client options for presigned artifact links when the store is S3 (s3OptionsFrom). */
  s3?: S3StoreOptions;
}

/** Who is signed in (an admin-scoped API key, by login or `Authorization: Bearer`). */
export interface Principal {
  keyId: string;
  /** The key's name: actions reach Updates as actor `console:<name>`. */
  name: string;
}

export interface PageOptions {
  title: string;
  /** The top-bar entry to highlight. */
  nav?: 'models' | 'runs' | 'compare' | 'approvals';
  body: Html;
}

export interface ConsoleContext extends ConsoleDeps {
  /** Sends a full page in the console's layout (200, text/html). */
  page(reply: FastifyReply, options: PageOptions): FastifyReply;
  /** The signed-in admin, or undefined after answering 401 (JSON for fetch, a login redirect for
   * a page) — the caller returns at once when it gets undefined. */
  requireAdmin(req: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined>;
  /** The signed-in admin, if any (pages show action buttons only then). */
  principal(req: FastifyRequest): Promise<Principal | undefined>;
  /** A link into the Temporal Web UI for a workflow (absent without a Web UI URL). */
  workflowLink(workflowId: string, runId?: string): string | undefined;
  /** A browser-openable URL for an artifact the store holds (a presigned URL on S3, the console's
   * own /artifacts route for a local folder); undefined for a URI outside the store. */
  artifactLink(uri: string): Promise<string | undefined>;
}

export interface ContextParts {
  auth: ConsoleAuth;
  /** Presigned GET links for an S3 store; undefined for a local one (served at /artifacts). */
  presign?: PresignGet;
}

/** Wants a page (a browser navigating) rather than JSON (fetch, curl): decides 401 vs redirect. */
export function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return req.method === 'GET' && accept.includes('text/html');
}

export function createConsoleContext(deps: ConsoleDeps, parts: ContextParts): ConsoleContext {
  const { auth, presign } = parts;
  const principals = new WeakMap<FastifyRequest, Promise<AuthResult>>();
  const authOf = (req: FastifyRequest): Promise<AuthResult> => {
    let result = principals.get(req);
    if (!result) principals.set(req, (result = auth.authenticate(req)));
    return result;
  };
  const local = deps.store.baseUri.startsWith('file://');

  return {
    ...deps,
    page(reply, options) {
      const req = reply.request;
      const principal = (req as FastifyRequest & { consolePrincipal?: Principal }).consolePrincipal;
      return reply.type('text/html; charset=utf-8').send(
        renderLayout({
          ...options,
          ...(principal ? { principal } : {}),
          ...(deps.webUiUrl ? { webUiUrl: deps.webUiUrl } : {}),
          namespace: deps.namespace,
          path: req.url,
        }),
      );
    },
    async requireAdmin(req, reply) {
      const result = await authOf(req);
      if ('principal' in result) {
        if (req.method === 'GET' || req.method === 'HEAD' || sameOrigin(req, result.via)) return result.principal;
        void reply
          .code(403)
          .header('cache-control', 'no-store')
          .send({ error: 'cross-origin request refused (Origin does not match this console)' });
        return undefined;
      }
      if (result.status === 401 && wantsHtml(req)) {
        void reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
        return undefined;
      }
      void reply
        .code(result.status)
        .header('cache-control', 'no-store')
        .header('www-authenticate', 'Bearer realm="flywheel-console"')
        .send({ error: result.error });
      return undefined;
    },
    async principal(req) {
      const result = await authOf(req);
      return 'principal' in result ? result.principal : undefined;
    },
    workflowLink(workflowId, runId) {
      if (!deps.webUiUrl) return undefined;
      const base = `${deps.webUiUrl}/namespaces/${encodeURIComponent(deps.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
      return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
    },
    async artifactLink(uri) {
      try {
        deps.store.keyFor(uri);
      } catch {
        return undefined;
      }
      if (local) return `/artifacts?uri=${encodeURIComponent(uri)}`;
      return presign ? presign(uri) : undefined;
    },
  };
}
