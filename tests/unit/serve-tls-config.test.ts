// The inference server's HTTPS variables: a bad path, a file that holds something else, or a key
// that is not the certificate's is a configuration error naming the variable, at start.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import { makeTestCerts, type TestCerts } from '../fixtures/tls-certs.ts';

let certs: TestCerts;

beforeAll(() => {
  certs = makeTestCerts();
});

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig('serve', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('serving TLS settings', () => {
  it('serves plain HTTP by default, and HTTPS with a certificate and its key', () => {
    expect(loadConfig('serve', {}).serve.tls).toBeUndefined();
    const serve = loadConfig('serve', {
      FLYWHEEL_SERVE_TLS_CERT: certs.serverCert,
      FLYWHEEL_SERVE_TLS_KEY: certs.serverKey,
      FLYWHEEL_SERVE_TLS_CLIENT_CA: certs.caCert,
    }).serve;
    expect(serve.tls).toEqual({ certPath: certs.serverCert, keyPath: certs.serverKey, clientCaPath: certs.caCert });
  });

  it('needs the certificate and the key together, and HTTPS for client certificates', () => {
    expect(problemsOf({ FLYWHEEL_SERVE_TLS_CERT: certs.serverCert })).toContain('FLYWHEEL_SERVE_TLS_KEY: HTTPS needs both');
    expect(problemsOf({ FLYWHEEL_SERVE_TLS_CLIENT_CA: certs.caCert })).toContain(
      'FLYWHEEL_SERVE_TLS_CLIENT_CA: client certificates need HTTPS',
    );
  });

  it('names the variable of a missing file, a file that holds something else, and a key of another certificate', () => {
    const missing = join(certs.dir, 'missing.crt');
    expect(problemsOf({ FLYWHEEL_SERVE_TLS_CERT: missing, FLYWHEEL_SERVE_TLS_KEY: certs.serverKey })).toContain(
      `FLYWHEEL_SERVE_TLS_CERT: cannot read ${missing}: ENOENT`,
    );
    // The key where the certificate belongs, and the reverse.
    const swapped = problemsOf({ FLYWHEEL_SERVE_TLS_CERT: certs.serverKey, FLYWHEEL_SERVE_TLS_KEY: certs.serverCert });
    expect(swapped).toContain(`FLYWHEEL_SERVE_TLS_CERT: ${certs.serverKey} does not hold a PEM certificate`);
    expect(swapped).toContain(`FLYWHEEL_SERVE_TLS_KEY: ${certs.serverCert} does not hold an unencrypted PEM private key`);
    expect(problemsOf({ FLYWHEEL_SERVE_TLS_CERT: certs.serverCert, FLYWHEEL_SERVE_TLS_KEY: certs.clientKey })).toContain(
      `FLYWHEEL_SERVE_TLS_KEY: ${certs.clientKey} is not the private key of the certificate in FLYWHEEL_SERVE_TLS_CERT`,
    );
    const junk = join(certs.dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    expect(
      problemsOf({
        FLYWHEEL_SERVE_TLS_CERT: certs.serverCert,
        FLYWHEEL_SERVE_TLS_KEY: certs.serverKey,
        FLYWHEEL_SERVE_TLS_CLIENT_CA: junk,
      }),
    ).toContain(`FLYWHEEL_SERVE_TLS_CLIENT_CA: ${junk} does not hold a PEM CA certificate`);
  });
});
