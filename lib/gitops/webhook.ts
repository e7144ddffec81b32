// `POST /hooks/git/<env>` on the CPU worker's HTTP server: a git host's push webhook, signed with
// HMAC-SHA256 of the body in GitHub's `X-Hub-Signature-256: sha256=<hex>` form, becomes a `sync`
// signal to the reconciler `gitops/<env>`. Client mistakes answer 4xx with a message, never 500.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from '../log.ts';

export const GIT_HOOK_PREFIX = '/hooks/git/';
/** @default 1 MiB: push payloads are a few KiB; GitHub caps them at 25 MB, but we read none of it. */
const MAX_BODY_BYTES = 1024 * 1024;
const ENV_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export interface GitHookOptions {
  /** FLYWHEEL_GIT_WEBHOOK_SECRET: the secret the git host signs with. */
  secret: string;
  /** Sends `sync` to gitops/<env>; throws WorkflowNotFoundError when none runs. */
  signal: (env: string, reason: string) => Promise<void>;
  logger: Logger;
}

/** `sha256=<hex>` of the body, as GitHub, Gitea and Forgejo send it. */
export function gitHookSignature(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifyGitHookSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header)) return false;
  const expected = Buffer.from(gitHookSignature(secret, body));
  const given = Buffer.from(header.toLowerCase());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

class HookError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HookError(413, `the body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The push's ref and head commit, for the reason the reconciler logs; the body need not be JSON. */
function describePush(body: Buffer): string {
  try {
    const push = JSON.parse(body.toString('utf8')) as { ref?: unknown; after?: unknown };
    const parts = [typeof push.ref === 'string' ? push.ref : '', typeof push.after === 'string' ? push.after.slice(0, 12) : ''];
    return parts.filter(Boolean).join(' ') || 'push';
  } catch {
    return 'push';
  }
}

/**
 * A request handler for the worker's HTTP server: true when it answered (a path under
 * /hooks/git/), false to let the server's other routes answer.
 */
export function createGitHookHandler(options: GitHookOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async function gitHook(req, res) {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!path.startsWith(GIT_HOOK_PREFIX)) return false;
    try {
      const raw = path.slice(GIT_HOOK_PREFIX.length);
      let env: string;
      try {
        env = decodeURIComponent(raw);
      } catch {
        throw new HookError(404, `no environment ${JSON.stringify(raw)}: POST /hooks/git/<env>`); // a malformed %-escape
      }
      if (!ENV_NAME.test(env)) throw new HookError(404, `no environment ${JSON.stringify(env)}: POST /hooks/git/<env>`);
      if (req.method !== 'POST') throw new HookError(405, `${path} answers POST only`);
      const body = await readBody(req);
      const header = req.headers['x-hub-signature-256'];
      if (!verifyGitHookSignature(options.secret, body, Array.isArray(header) ? header[0] : header))
        throw new HookError(401, 'missing or wrong X-Hub-Signature-256 (sha256=<HMAC-SHA256 of the body with the shared secret>)');
      if (req.headers['x-github-event'] === 'ping') return (send(res, 200, { ok: true, pong: true }), true);
      try {
        await options.signal(env, `webhook: ${describePush(body)}`);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError)
          throw new HookError(404, `no reconciler gitops/${env}: start it with \`flywheel gitops start\``);
        throw err;
      }
      send(res, 202, { ok: true, workflowId: `gitops/${env}` });
    } catch (err) {
      if (err instanceof HookError) send(res, err.status, { error: err.message });
      else {
        options.logger.error({ err, path }, 'git webhook: signalling the reconciler failed');
        send(res, 503, { error: 'could not reach Temporal; the git host retries' });
      }
    }
    return true;
  };
}
