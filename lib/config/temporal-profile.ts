// A profile of a Temporal TOML config file (@temporalio/envconfig: the format the `temporal` CLI
// and every SDK share), read as a layer of variables under the process environment: a variable
// set in the environment wins over the profile, and the profile over the defaults.
import { existsSync } from 'node:fs';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/** Flywheel's older names, each meaning the same as an envconfig name. */
export const TEMPORAL_ALIASES = {
  TEMPORAL_TLS_CERT: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  TEMPORAL_TLS_CA: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
} as const;

/** Variables that set one thing; a profile's value is skipped when the environment sets any of them. */
const SETTINGS: ReadonlyArray<readonly string[]> = [
  ['TEMPORAL_ADDRESS'],
  ['TEMPORAL_NAMESPACE'],
  ['TEMPORAL_API_KEY'],
  ['TEMPORAL_TLS'],
  ['TEMPORAL_TLS_SERVER_NAME'],
  ['TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_CLIENT_CERT_DATA'],
  ['TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CLIENT_KEY_DATA'],
  ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA'],
];

export interface ProfileLayer {
  /** Where the values came from, quoted in errors: `profile "prod" of /etc/flywheel/temporal.toml`. */
  source: string;
  /** The profile's settings under the variable names that mean them. */
  values: Record<string, string>;
}

export type ProfileResult = { ok: true; layer?: ProfileLayer } | { ok: false; variable: string; message: string };

function dataText(data: string | Uint8Array): string {
  return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
}

/** The profile's settings as variables (only those it sets). */
export function profileValues(profile: ClientConfigProfile): Record<string, string> {
  const values: Record<string, string> = {};
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) values[name] = value;
  };
  const source = (s: ConfigDataSource | undefined, pathName: string, dataName: string) => {
    if (s) set('path' in s ? pathName : dataName, 'path' in s ? s.path : dataText(s.data));
  };
  set('TEMPORAL_ADDRESS', profile.address);
  set('TEMPORAL_NAMESPACE', profile.namespace);
  set('TEMPORAL_API_KEY', profile.apiKey);
  const tls = profile.tls;
  if (tls) {
    // A [tls] table turns TLS on unless it says `disabled = true`, as envconfig reads it.
    set('TEMPORAL_TLS', String(tls.disabled !== true));
    set('TEMPORAL_TLS_SERVER_NAME', tls.serverName);
    source(tls.clientCert, 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'TEMPORAL_TLS_CLIENT_CERT_DATA');
    source(tls.clientKey, 'TEMPORAL_TLS_CLIENT_KEY_PATH', 'TEMPORAL_TLS_CLIENT_KEY_DATA');
    source(tls.serverCACert, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH', 'TEMPORAL_TLS_SERVER_CA_CERT_DATA');
  }
  return values;
}

/**
 * Reads the profile named by TEMPORAL_PROFILE (default `default`) from TEMPORAL_CONFIG_FILE, or
 * from ~/.config/temporalio/temporal.toml when that variable is unset and the file exists.
 * Unknown keys are refused, so a typo in a key does not silently fall back to a default.
 */
export function loadTemporalProfile(env: Readonly<Record<string, string>>): ProfileResult {
  const file = env.TEMPORAL_CONFIG_FILE;
  if (file && !existsSync(file)) return { ok: false, variable: 'TEMPORAL_CONFIG_FILE', message: `no file at ${file}` };
  const name = env.TEMPORAL_PROFILE ?? 'default';
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({
      ...(file ? { configSource: { path: file } } : {}),
      ...(env.TEMPORAL_PROFILE ? { profile: env.TEMPORAL_PROFILE } : {}),
      // The environment is applied by Flywheel's own schema, with its aliases and checks.
      disableEnv: true,
      configFileStrict: true,
      overrideEnvVars: { ...env },
    });
  } catch (err) {
    const message = (err as Error).message;
    const where = file ?? 'the default Temporal config file (~/.config/temporalio/temporal.toml)';
    if (message.startsWith('Profile ')) return { ok: false, variable: 'TEMPORAL_PROFILE', message: `no profile "${name}" in ${where}` };
    return { ok: false, variable: 'TEMPORAL_CONFIG_FILE', message: `${where}: ${message}` };
  }
  if (profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0)
    return { ok: false, variable: 'TEMPORAL_CONFIG_FILE', message: `profile "${name}": grpc_meta is not supported by Flywheel` };
  const values = profileValues(profile);
  if (Object.keys(values).length === 0) return { ok: true };
  return { ok: true, layer: { source: `profile "${name}" of ${file ?? 'the default Temporal config file'}`, values } };
}

/** The profile's values the environment does not set itself (by any name of the same setting). */
export function underEnvironment(layer: ProfileLayer, env: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const names of SETTINGS) {
    if (names.some((n) => env[n] !== undefined)) continue;
    for (const n of names) if (layer.values[n] !== undefined) out[n] = layer.values[n];
  }
  return out;
}
