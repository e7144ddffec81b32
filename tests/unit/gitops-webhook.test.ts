// POST /hooks/git/<env> on the worker's HTTP server, black-box: a signed push becomes a `sync` of
// gitops/<env>; a missing or wrong signature is 401, other client mistakes 4xx with a message.
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHookHandler, gitHookSignature } from '../../lib/gitops/webhook.ts';
import { startHealthServer, type HealthServer } from '../../workers/shared/health-server.ts';

const SECRET = 'a-long-enough-shared-secret';
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child: () => quiet } as never;
const signals: Array<[string, string]> = [];
let server: HealthServer;

beforeAll(async () => {
  server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    logger: quiet,
    readiness: async () => ({ ready: true, reasons: [] }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    hooks: createGitHookHandler({
      secret: SECRET,
      logger: quiet,
      signal: async (env, reason) => {
        if (env === 'nowhere') throw new WorkflowNotFoundError('not found', 'gitops/nowhere', undefined);
        if (env === 'down') throw new Error('connect ECONNREFUSED');
        signals.push([env, reason]);
      },
    }),
  });
});
afterAll(() => server.close());

async function post(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(server.url + path, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const push = JSON.stringify({ ref: 'refs/heads/main', after: '0123456789abcdef0123' });

describe('POST /hooks/git/<env>', () => {
  it('a correctly signed push signals gitops/<env> (202) with the ref and commit as the reason', async () => {
    const r = await post('/hooks/git/prod', push, { 'x-hub-signature-256': gitHookSignature(SECRET, push) });
    expect(r).toEqual({ status: 202, body: { ok: true, workflowId: 'gitops/prod' } });
    expect(signals.at(-1)).toEqual(['prod', 'webhook: refs/heads/main 0123456789ab']);
  });

  it('answers a ping without signalling', async () => {
    const before = signals.length;
    const r = await post('/hooks/git/prod', '{}', { 'x-hub-signature-256': gitHookSignature(SECRET, '{}'), 'x-github-event': 'ping' });
    expect(r.status).toBe(200);
    expect(signals.length).toBe(before);
  });

  it.each([
    ['missing', {}],
    ['malformed', { 'x-hub-signature-256': 'sha1=abc' }],
    ['wrong secret', { 'x-hub-signature-256': gitHookSignature('another-secret-entirely', push) }],
    ['another body', { 'x-hub-signature-256': gitHookSignature(SECRET, push + ' ') }],
  ])('401 on a %s signature, and no signal', async (_what, headers) => {
    const before = signals.length;
    const r = await post('/hooks/git/prod', push, headers as Record<string, string>);
    expect(r.status).toBe(401);
    expect(r.body.error).toMatch(/X-Hub-Signature-256/);
    expect(signals.length).toBe(before);
  });

  it('4xx with a message for a bad environment name, a GET, no reconciler; 503 when Temporal is down', async () => {
    const signed = { 'x-hub-signature-256': gitHookSignature(SECRET, push) };
    expect((await post('/hooks/git/Bad_Env', push, signed)).status).toBe(404);
    expect((await post('/hooks/git/%E0%A4%A', push, signed)).status).toBe(404); // a malformed %-escape is not a 503
    const get = await fetch(`${server.url}/hooks/git/prod`);
    expect(get.status).toBe(405);
    const missing = await post('/hooks/git/nowhere', push, signed);
    expect(missing).toEqual({ status: 404, body: { error: 'no reconciler gitops/nowhere: start it with `flywheel gitops start`' } });
    expect((await post('/hooks/git/down', push, signed)).status).toBe(503);
    expect((await post('/hooks/git/prod', 'x'.repeat(1024 * 1024 + 1), signed)).status).toBe(413);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
  });
});
