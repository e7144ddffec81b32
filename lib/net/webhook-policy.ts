// Where job webhooks may go. Without an allow-list, any host whose every address is public; with
// one (FLYWHEEL_SERVE_WEBHOOK_ALLOW), only the hosts and networks it names — which may be private,
// since naming them is the operator's decision. Loopback, private, link-local (cloud metadata),
// shared, multicast and reserved addresses are refused otherwise, so an API key cannot make the
// server probe or call its own network (SSRF).
import { BlockList, isIP } from 'node:net';

export interface WebhookPolicy {
  /** Host patterns: `hooks.example.com` or `*.example.com` (any subdomain). */
  hosts: string[];
  /** Networks named by address or CIDR. */
  networks: BlockList;
  /** Whether an allow-list was given at all. */
  restricted: boolean;
}

const NON_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['100::', 64],
  ['2001:db8::', 32],
  ['64:ff9b::', 96],
  ['2002::', 16],
] as const)
  NON_PUBLIC.addSubnet(net, prefix, 'ipv6');

/** An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`) is judged as the IPv4 address. */
function unmap(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return { address: m[1]!, family: 'ipv4' };
  // The same in hex (`::ffff:a00:1`), as URL parsing writes it.
  const h = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (h) {
    const hi = parseInt(h[1]!, 16);
    const lo = parseInt(h[2]!, 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 'ipv4' };
  }
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

export function isPublicAddress(address: string): boolean {
  const a = unmap(address);
  return !NON_PUBLIC.check(a.address, a.family);
}

/** Parses the comma-separated allow-list; throws naming a bad entry. */
export function parseWebhookPolicy(entries: readonly string[]): WebhookPolicy {
  const networks = new BlockList();
  const hosts: string[] = [];
  for (const raw of entries.map((e) => e.trim()).filter(Boolean)) {
    const [addr, prefix] = raw.split('/');
    const family = isIP(addr ?? '');
    if (family) {
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128))
        throw new Error(`webhook allow-list entry ${JSON.stringify(raw)}: bad prefix length`);
      networks.addSubnet(addr!, bits, family === 4 ? 'ipv4' : 'ipv6');
    } else if (/^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(raw)) {
      hosts.push(raw.toLowerCase());
    } else {
      throw new Error(
        `webhook allow-list entry ${JSON.stringify(raw)} is neither a host name (hooks.example.com, *.example.com) nor an address or CIDR`,
      );
    }
  }
  return { hosts, networks, restricted: hosts.length > 0 || entries.some((e) => isIP(e.trim().split('/')[0] ?? '') !== 0) };
}

function hostNamed(policy: WebhookPolicy, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return policy.hosts.some((p) => (p.startsWith('*.') ? h.endsWith(p.slice(1)) && h.length > p.length - 1 : h === p));
}

function networkNamed(policy: WebhookPolicy, address: string): boolean {
  const a = unmap(address);
  return policy.networks.check(a.address, a.family);
}

/** Whether a request to `host` may connect to `address` (checked on every resolved address,
 * at connect time, so a name that re-resolves elsewhere is still held to the policy). */
export function addressAllowed(policy: WebhookPolicy, host: string, address: string): boolean {
  if (hostNamed(policy, host) || networkNamed(policy, address)) return true;
  return !policy.restricted && isPublicAddress(address);
}

/** What is wrong with a webhook URL before anything is resolved, or undefined. */
export function webhookUrlProblem(policy: WebhookPolicy, url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return 'must be http or https';
  if (u.username || u.password) return 'must not carry credentials';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return addressAllowed(policy, host, host) ? undefined : "destination not allowed by this server's webhook policy";
  if (policy.restricted && !hostNamed(policy, host)) return "destination not allowed by this server's webhook policy";
  return undefined;
}
