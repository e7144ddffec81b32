// Job webhooks cannot be aimed at the server's own network (SSRF), are signed, follow no
// redirects, and fail with one message whatever the cause, so job results map no ports.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress, parseWebhookPolicy, webhookUrlProblem } from '../../lib/net/webhook-policy.ts';
import { deliverWebhook, WebhookDeliveryError, WebhookPolicyError } from '../../serving/jobs/webhook.ts';
import { freePort } from '../integration/processes.ts';

const SECRET = 'a-webhook-secret-of-some-length';
const open = parseWebhookPolicy([]);
const loopback = parseWebhookPolicy(['127.0.0.1']);

describe('webhook policy', () => {
  it.each([
    ['127.0.0.1', false],
    ['10.1.2.3', false],
    ['172.20.0.1', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:a00:1', false],
    ['::ffff:7f00:1', false],
    ['8.8.8.8', true],
    ['2606:4700::1111', true],
    ['::ffff:8.8.8.8', true],
  ])('%s is public: %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it.each([
    ['http://127.0.0.1:8080/hook', open, "destination not allowed by this server's webhook policy"],
    ['http://169.254.169.254/latest/meta-data', open, "destination not allowed by this server's webhook policy"],
    ['http://[::1]/hook', open, "destination not allowed by this server's webhook policy"],
    ['http://[::ffff:a00:1]/hook', open, "destination not allowed by this server's webhook policy"],
    ['ftp://hooks.example.com/x', open, 'must be http or https'],
    ['https://user:pw@hooks.example.com/x', open, 'must not carry credentials'],
    ['https://evil.example.org/x', parseWebhookPolicy(['hooks.example.com']), "destination not allowed by this server's webhook policy"],
  ])('%s is refused before anything is resolved', (url, policy, problem) => {
    expect(webhookUrlProblem(policy, url)).toBe(problem);
  });

  it('allows public hosts by default, and what the allow-list names (even private)', () => {
    expect(webhookUrlProblem(open, 'https://hooks.example.com/x')).toBeUndefined();
    expect(webhookUrlProblem(loopback, 'http://127.0.0.1:9/hook')).toBeUndefined();
    const wildcard = parseWebhookPolicy(['*.example.com', '10.0.0.0/8']);
    expect(webhookUrlProblem(wildcard, 'https://a.b.example.com/x')).toBeUndefined();
    expect(webhookUrlProblem(wildcard, 'https://example.com.evil.org/x')).toBe("destination not allowed by this server's webhook policy");
    expect(webhookUrlProblem(wildcard, 'http://10.9.8.7/x')).toBeUndefined();
  });

  it('refuses a malformed allow-list entry, naming it', () => {
    expect(() => parseWebhookPolicy(['hooks example'])).toThrow('webhook allow-list entry "hooks example" is neither a host name');
    expect(() => parseWebhookPolicy(['10.0.0.0/40'])).toThrow('bad prefix length');
  });
});

describe('webhook delivery', () => {
  let receiver: Server;
  let port = 0;
  const calls: Array<{ path: string; headers: Record<string, unknown>; body: string }> = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        calls.push({ path: req.url ?? '', headers: req.headers, body });
        if (req.url === '/redirect') res.writeHead(302, { location: 'http://169.254.169.254/' }).end();
        else if (req.url === '/error') res.writeHead(500).end('internal details');
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const a = receiver.address();
    port = typeof a === 'object' && a ? a.port : 0;
  });

  afterAll(() => new Promise((r) => receiver.close(r)));

  it('POSTs the body signed with HMAC-SHA256 over "<timestamp>.<body>"', async () => {
    await deliverWebhook({
      url: `http://127.0.0.1:${port}/ok`,
      body: { jobId: 'job-1', status: 'completed' },
      policy: loopback,
      secret: SECRET,
    });
    const call = calls.at(-1)!;
    expect(JSON.parse(call.body)).toEqual({ jobId: 'job-1', status: 'completed' });
    const expected = `v1=${createHmac('sha256', SECRET)
      .update(`${String(call.headers['x-flywheel-timestamp'])}.${call.body}`)
      .digest('hex')}`;
    expect(call.headers['x-flywheel-signature']).toBe(expected);
  });

  it('refuses a name that resolves to a private address unless the policy names it', async () => {
    const err = await deliverWebhook({ url: `http://localhost:${port}/ok`, body: {}, policy: open, secret: SECRET }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebhookPolicyError);
    expect(calls.filter((c) => c.path === '/ok')).toHaveLength(1); // nothing new arrived
  });

  it('checks the address on every delivery: no pooled connection skips the check', async () => {
    await deliverWebhook({ url: `http://localhost:${port}/ok`, body: {}, policy: parseWebhookPolicy(['localhost']), secret: SECRET });
    const err = await deliverWebhook({ url: `http://localhost:${port}/ok`, body: {}, policy: open, secret: SECRET }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WebhookPolicyError);
  });

  it('follows no redirect, and says the same thing for a 500, a redirect and a closed port', async () => {
    const closed = await freePort();
    const messages: string[] = [];
    for (const url of [`http://127.0.0.1:${port}/redirect`, `http://127.0.0.1:${port}/error`, `http://127.0.0.1:${closed}/x`]) {
      const err = await deliverWebhook({ url, body: {}, policy: loopback, secret: SECRET }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WebhookDeliveryError);
      messages.push((err as Error).message);
    }
    expect(new Set(messages)).toEqual(new Set(['webhook delivery failed']));
    expect(calls.filter((c) => c.path !== '/ok' && c.path !== '/redirect' && c.path !== '/error')).toEqual([]);
  });
});
