// Delivers a job's webhook: a signed POST to a destination the policy allows, checked again on
// the address actually connected to, with no redirects followed. Failures are reported with one
// generic message whatever the cause (refused, timed out, 5xx, unresolvable), so the job result
// cannot be used to map which hosts and ports answer; the cause is in the server's log.
import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { addressAllowed, type WebhookPolicy } from '../../lib/net/webhook-policy.ts';

export interface WebhookDelivery {
  url: string;
  body: unknown;
  policy: WebhookPolicy;
  /** HMAC-SHA256 key; receivers verify `X-Flywheel-Signature`. */
  secret: string;
  /** @default 10000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Thrown for every failed delivery; `cause` (for the log) says why. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
}

export class WebhookPolicyError extends Error {
  override readonly name = 'WebhookPolicyError';
}

/** `v1=<hex>` over `<timestamp>.<body>`: the timestamp bounds replays, the body is exact bytes. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export async function deliverWebhook(d: WebhookDelivery): Promise<void> {
  const url = new URL(d.url);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address connects without a lookup: judge it here.
  if (isIP(host) && !addressAllowed(d.policy, host, host))
    throw new WebhookPolicyError("destination not allowed by this server's webhook policy");
  const body = JSON.stringify(d.body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  let refused = false;
  // Every address is checked where the socket connects, so DNS cannot swap in a private one
  // after an earlier check.
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 4);
      const allowed = addresses.filter((a) => addressAllowed(d.policy, host, a.address));
      if (allowed.length === 0 || allowed.length !== addresses.length) {
        refused = true;
        return callback(new WebhookPolicyError("destination not allowed by this server's webhook policy"), '', 4);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
      return callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
  const options: RequestOptions = {
    method: 'POST',
    lookup,
    // A fresh connection each time: a pooled socket would skip the lookup and its address check.
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'flywheel-webhook/1',
      'x-flywheel-timestamp': timestamp,
      'x-flywheel-signature': signWebhook(d.secret, timestamp, body),
    },
    timeout: d.timeoutMs ?? 10_000,
    ...(d.signal ? { signal: d.signal } : {}),
  };
  const status = await new Promise<number>((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume(); // the body is not read: nothing of it reaches the job result
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    if (refused || err instanceof WebhookPolicyError)
      throw new WebhookPolicyError("destination not allowed by this server's webhook policy", { cause: err });
    throw new WebhookDeliveryError('webhook delivery failed', { cause: err });
  });
  // 3xx included: redirects are not followed (they could point anywhere).
  if (status < 200 || status >= 300) throw new WebhookDeliveryError('webhook delivery failed', { cause: new Error(`answered ${status}`) });
}
