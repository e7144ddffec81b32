// Temporal connection settings follow @temporalio/envconfig: its variable names, TOML profiles
// under the environment, Flywheel's older TEMPORAL_TLS_CERT/_KEY/_CA as aliases, and the same
// connection options envconfig itself would build.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { describe, expect, it } from 'vitest';
import { configErrorOf } from '../fixtures/config-error.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { connectionOptions } from '../../lib/temporal/connection.ts';

const dir = mkdtempSync(join(tmpdir(), 'envconfig-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const CERT = file('client.crt', '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
const KEY = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const CA = file('ca.crt', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const TOML = file(
  'temporal.toml',
  `[profile.default]
address = "default.example:7233"

[profile.prod]
address = "prod.example:7233"
namespace = "flywheel-prod"
api_key = "profile-key"

[profile.prod.tls]
client_cert_path = "${CERT}"
client_key_path = "${KEY}"
server_ca_cert_path = "${CA}"
server_name = "temporal.internal"

[profile.plain.tls]
disabled = true
`,
);

describe('Temporal settings (envconfig)', () => {
  it('reads the envconfig variable names', () => {
    const t = loadConfig('cli', {
      TEMPORAL_ADDRESS: 'temporal.example:7233',
      TEMPORAL_NAMESPACE: 'ns',
      TEMPORAL_TLS_CLIENT_CERT_PATH: CERT,
      TEMPORAL_TLS_CLIENT_KEY_PATH: KEY,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
    }).temporal;
    expect(t).toEqual({
      address: 'temporal.example:7233',
      namespace: 'ns',
      tls: { certPath: CERT, keyPath: KEY, caPath: CA, serverName: 'temporal.internal' },
    });
  });

  it('keeps TEMPORAL_TLS_CERT, _KEY and _CA as aliases, and refuses an alias that disagrees', () => {
    const old = loadConfig('cli', { TEMPORAL_TLS_CERT: CERT, TEMPORAL_TLS_KEY: KEY, TEMPORAL_TLS_CA: CA }).temporal;
    expect(old.tls).toEqual({ certPath: CERT, keyPath: KEY, caPath: CA });
    // Both names, same file: fine.
    expect(loadConfig('cli', { TEMPORAL_TLS_CA: CA, TEMPORAL_TLS_SERVER_CA_CERT_PATH: CA }).temporal.tls).toEqual({ caPath: CA });
    const message = configErrorOf(() => loadConfig('cli', { TEMPORAL_TLS_CA: CA, TEMPORAL_TLS_SERVER_CA_CERT_PATH: '/other/ca.crt' }));
    expect(message).toContain(
      'TEMPORAL_TLS_SERVER_CA_CERT_PATH: TEMPORAL_TLS_SERVER_CA_CERT_PATH and its alias TEMPORAL_TLS_CA are both set, to different files',
    );
  });

  it('needs a client certificate and its key together, by either name', () => {
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_TLS_CLIENT_CERT_PATH: CERT }))).toContain(
      'TEMPORAL_TLS_CLIENT_KEY_PATH: mTLS needs both',
    );
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_TLS_KEY: KEY }))).toContain('TEMPORAL_TLS_CLIENT_CERT_PATH: mTLS needs both');
  });

  it('reads a profile from TEMPORAL_CONFIG_FILE named by TEMPORAL_PROFILE, and the default profile without one', () => {
    const prod = loadConfig('cli', { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'prod' }).temporal;
    expect(prod).toMatchObject({
      address: 'prod.example:7233',
      namespace: 'flywheel-prod',
      tls: { certPath: CERT, keyPath: KEY, caPath: CA, serverName: 'temporal.internal' },
    });
    expect(prod.apiKey?.reveal()).toBe('profile-key');
    expect(loadConfig('cli', { TEMPORAL_CONFIG_FILE: TOML }).temporal).toEqual({ address: 'default.example:7233', namespace: 'default' });
  });

  it('lets an explicit variable win over the profile, and the profile over the defaults', () => {
    const t = loadConfig('cli', {
      TEMPORAL_CONFIG_FILE: TOML,
      TEMPORAL_PROFILE: 'prod',
      TEMPORAL_ADDRESS: 'env.example:7233',
      // An alias counts as explicit: the profile's client_cert_path and client_key_path yield.
      TEMPORAL_TLS_CERT: '/env/client.crt',
      TEMPORAL_TLS_KEY: '/env/client.key',
    }).temporal;
    expect(t.address).toBe('env.example:7233');
    expect(t.namespace).toBe('flywheel-prod');
    expect(t.tls).toEqual({ certPath: '/env/client.crt', keyPath: '/env/client.key', caPath: CA, serverName: 'temporal.internal' });
  });

  it('turns TLS off for a profile that disables it, unless TEMPORAL_TLS turns it back on', () => {
    expect(
      loadConfig('cli', { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'plain', TEMPORAL_API_KEY: 'k' }).temporal.tls,
    ).toBeUndefined();
    expect(loadConfig('cli', { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'plain', TEMPORAL_TLS: 'true' }).temporal.tls).toEqual({});
  });

  it('names the variable when the file, the profile or a value in it is wrong', () => {
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') }))).toContain(
      `TEMPORAL_CONFIG_FILE: no file at ${join(dir, 'missing.toml')}`,
    );
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'staging' }))).toContain(
      `TEMPORAL_PROFILE: no profile "staging" in ${TOML}`,
    );
    const typo = file('typo.toml', '[profile.default]\naddres = "x:1"\n');
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_CONFIG_FILE: typo }))).toMatch(/TEMPORAL_CONFIG_FILE: .*unrecognized.*addres/);
    const bad = file('bad.toml', '[profile.default]\naddress = "no port"\n');
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_CONFIG_FILE: bad }))).toContain(
      `TEMPORAL_ADDRESS: expected host:port, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233; got "no port" (from profile "default" of ${bad})`,
    );
  });

  it('reads the default file ~/.config/temporalio/temporal.toml only when it exists', () => {
    const home = mkdtempSync(join(tmpdir(), 'home-'));
    expect(loadConfig('cli', { HOME: home }).temporal.address).toBe('127.0.0.1:7233');
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\naddress = "home.example:7233"\n');
    expect(loadConfig('cli', { HOME: home }).temporal.address).toBe('home.example:7233');
  });

  it('takes inline PEM data, keeps the key secret, and refuses a path and data for the same thing', async () => {
    const keyPem = '-----BEGIN PRIVATE KEY-----\ninline-key\n-----END PRIVATE KEY-----\n';
    const t = loadConfig('cli', { TEMPORAL_TLS_CLIENT_CERT_PATH: CERT, TEMPORAL_TLS_CLIENT_KEY_DATA: keyPem }).temporal;
    expect(JSON.stringify(t)).not.toContain('inline-key');
    const options = await connectionOptions(t);
    expect(options.tls).toMatchObject({ clientCertPair: { key: Buffer.from(keyPem) } });
    expect(
      configErrorOf(() =>
        loadConfig('cli', { TEMPORAL_TLS_KEY: KEY, TEMPORAL_TLS_CLIENT_CERT_PATH: CERT, TEMPORAL_TLS_CLIENT_KEY_DATA: keyPem }),
      ),
    ).toContain('TEMPORAL_TLS_CLIENT_KEY_DATA: TEMPORAL_TLS_CLIENT_KEY_DATA and TEMPORAL_TLS_KEY are both set');
  });

  it('refuses TEMPORAL_TLS_DISABLE_HOST_VERIFICATION=true, which the TypeScript SDK cannot do', () => {
    expect(configErrorOf(() => loadConfig('cli', { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }))).toContain(
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: the TypeScript SDK always verifies the server name',
    );
    expect(loadConfig('cli', { TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'false' }).temporal.tls).toBeUndefined();
  });

  it('builds the connection options envconfig builds for the same profile and variables', async () => {
    const env = { TEMPORAL_CONFIG_FILE: TOML, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'from-env' };
    const ours = await connectionOptions(loadConfig('cli', env).temporal);
    const theirs = loadClientConnectConfig({ overrideEnvVars: env });
    expect(loadConfig('cli', env).temporal.namespace).toBe(theirs.namespace);
    expect(ours.address).toBe(theirs.connectionOptions.address);
    expect(ours.apiKey).toBe(theirs.connectionOptions.apiKey);
    const tls = theirs.connectionOptions.tls as {
      clientCertPair: { crt: Uint8Array; key: Uint8Array };
      serverRootCACertificate: Uint8Array;
    };
    expect(ours.tls).toEqual({
      serverNameOverride: 'temporal.internal',
      serverRootCACertificate: Buffer.from(tls.serverRootCACertificate),
      clientCertPair: { crt: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) },
    });
  });

  it('names the variable of a certificate file it cannot read when connecting', async () => {
    const t = loadConfig('cli', { TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'nope.crt') }).temporal;
    await expect(connectionOptions(t)).rejects.toThrow(`cannot read ${join(dir, 'nope.crt')} (TEMPORAL_TLS_SERVER_CA_CERT_PATH): ENOENT`);
  });
});
