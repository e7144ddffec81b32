// The Temporal connection settings from their variables (envconfig names, Flywheel's older
// aliases, and a config-file profile already layered under them by load.ts).
import type { z } from 'zod';
import { Secret } from './secret.ts';
import { TEMPORAL_ALIASES } from './temporal-profile.ts';

export interface TemporalTlsConfig {
  certPath?: string;
  keyPath?: string;
  caPath?: string;
  /** Inline PEM, instead of a path (TEMPORAL_TLS_*_DATA or a profile's *_data). */
  certPem?: string;
  keyPem?: Secret;
  caPem?: string;
  serverName?: string;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  cliPath?: string;
  /** Undefined: plain TCP (a local dev server). */
  tls?: TemporalTlsConfig;
  apiKey?: Secret;
}

export interface TemporalEnv {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_CLI_PATH?: string | undefined;
  TEMPORAL_TLS?: boolean | undefined;
  TEMPORAL_TLS_CERT?: string | undefined;
  TEMPORAL_TLS_KEY?: string | undefined;
  TEMPORAL_TLS_CA?: string | undefined;
  TEMPORAL_TLS_CLIENT_CERT_PATH?: string | undefined;
  TEMPORAL_TLS_CLIENT_KEY_PATH?: string | undefined;
  TEMPORAL_TLS_SERVER_CA_CERT_PATH?: string | undefined;
  TEMPORAL_TLS_CLIENT_CERT_DATA?: string | undefined;
  TEMPORAL_TLS_CLIENT_KEY_DATA?: string | undefined;
  TEMPORAL_TLS_SERVER_CA_CERT_DATA?: string | undefined;
  TEMPORAL_TLS_SERVER_NAME?: string | undefined;
  TEMPORAL_TLS_DISABLE_HOST_VERIFICATION?: boolean | undefined;
  TEMPORAL_API_KEY?: string | undefined;
}

type Issue = (variable: string, message: string) => void;

/** One PEM source from its path (by either name) or its inline data; two different ones is an error. */
function pemSource(
  raw: TemporalEnv,
  alias: keyof typeof TEMPORAL_ALIASES,
  dataName: 'TEMPORAL_TLS_CLIENT_CERT_DATA' | 'TEMPORAL_TLS_CLIENT_KEY_DATA' | 'TEMPORAL_TLS_SERVER_CA_CERT_DATA',
  issue: Issue,
): { path?: string; data?: string } {
  const name = TEMPORAL_ALIASES[alias];
  const [old, current, data] = [raw[alias], raw[name], raw[dataName]];
  if (old && current && old !== current) issue(name, `${name} and its alias ${alias} are both set, to different files; set one`);
  const path = current ?? old;
  if (path && data) issue(dataName, `${dataName} and ${old && !current ? alias : name} are both set; give the PEM one way`);
  return { ...(path ? { path } : {}), ...(data ? { data } : {}) };
}

export function shapeTemporal(raw: TemporalEnv, ctx: z.RefinementCtx): TemporalConfig {
  const issue: Issue = (variable, message) => ctx.addIssue({ code: 'custom', path: [variable], message });
  const cert = pemSource(raw, 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_CERT_DATA', issue);
  const key = pemSource(raw, 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA', issue);
  const ca = pemSource(raw, 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA', issue);
  const hasCert = Boolean(cert.path ?? cert.data);
  if (hasCert !== Boolean(key.path ?? key.data)) {
    issue(
      hasCert ? 'TEMPORAL_TLS_CLIENT_KEY_PATH' : 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      'mTLS needs both a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, alias TEMPORAL_TLS_CERT) and its key (TEMPORAL_TLS_CLIENT_KEY_PATH, alias TEMPORAL_TLS_KEY)',
    );
  }
  if (raw.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === true) {
    issue(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      'the TypeScript SDK always verifies the server name; set TEMPORAL_TLS_SERVER_NAME to a name in the server certificate instead',
    );
  }

  // TLS turns on by itself when anything TLS-shaped is configured (Temporal Cloud needs it with
  // an API key); TEMPORAL_TLS=false forces it off for a plaintext proxy.
  const wantsTls = raw.TEMPORAL_TLS ?? Boolean(hasCert || ca.path || ca.data || raw.TEMPORAL_TLS_SERVER_NAME || raw.TEMPORAL_API_KEY);
  const tls: TemporalTlsConfig | undefined = wantsTls
    ? {
        ...(cert.path ? { certPath: cert.path } : {}),
        ...(key.path ? { keyPath: key.path } : {}),
        ...(ca.path ? { caPath: ca.path } : {}),
        ...(cert.data ? { certPem: cert.data } : {}),
        ...(key.data ? { keyPem: new Secret(key.data) } : {}),
        ...(ca.data ? { caPem: ca.data } : {}),
        ...(raw.TEMPORAL_TLS_SERVER_NAME ? { serverName: raw.TEMPORAL_TLS_SERVER_NAME } : {}),
      }
    : undefined;

  return {
    address: raw.TEMPORAL_ADDRESS,
    namespace: raw.TEMPORAL_NAMESPACE,
    ...(raw.TEMPORAL_CLI_PATH ? { cliPath: raw.TEMPORAL_CLI_PATH } : {}),
    ...(tls ? { tls } : {}),
    ...(raw.TEMPORAL_API_KEY ? { apiKey: new Secret(raw.TEMPORAL_API_KEY) } : {}),
  };
}
