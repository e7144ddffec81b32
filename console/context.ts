// What every console page module receives. The server (console/server.ts) builds one
// ConsoleContext per process; page modules register their routes with
// `register…Routes(app, ctx)` and never open clients of their own.
import type { Client } from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';
import type { ModelRegistry } from '../lib/registry/index.ts';
import type { ArtifactStore } from '../lib/storage/index.ts';
import type { Html } from './html.ts';

export interface ConsoleDeps {
  registry: ModelRegistry;
  db: Database;
  store: ArtifactStore;
  temporal: Client;
  namespace: string;
  /** The Temporal Web UI's base URL (http://127.0.0.1:8233); absent: no links into it. */
  webUiUrl?: string;
  logger: Logger;
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
  nav?: 'models' | 'runs' | 'compare';
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
