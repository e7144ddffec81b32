// The inference server's HTTPS settings, checked at start: each file must exist and hold what
// its variable says (a certificate, a key that matches it, a CA), so a bad path or a swapped file
// is a configuration error naming the variable, not a TLS failure on the first request.
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';

export interface ServeTlsSettings {
  /** PEM server certificate, optionally followed by its chain. */
  certPath: string;
  /** PEM private key of the certificate (unencrypted). */
  keyPath: string;
  /** PEM CA bundle: admin routes then need a client certificate it signed. */
  clientCaPath?: string;
}

interface ServeTlsEnv {
  FLYWHEEL_SERVE_TLS_CERT?: string | undefined;
  FLYWHEEL_SERVE_TLS_KEY?: string | undefined;
  FLYWHEEL_SERVE_TLS_CLIENT_CA?: string | undefined;
}

type Read<T> = { ok: true; value: T } | { ok: false; message: string };

function read<T>(path: string, what: string, parse: (pem: Buffer) => T): Read<T> {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    return { ok: false, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  try {
    return { ok: true, value: parse(pem) };
  } catch (err) {
    return { ok: false, message: `${path} does not hold ${what}: ${(err as Error).message}` };
  }
}

export function checkServeTls(raw: ServeTlsEnv, ctx: z.RefinementCtx): void {
  const issue = (variable: string, message: string) => ctx.addIssue({ code: 'custom', path: [variable], message });
  const { FLYWHEEL_SERVE_TLS_CERT: certPath, FLYWHEEL_SERVE_TLS_KEY: keyPath, FLYWHEEL_SERVE_TLS_CLIENT_CA: caPath } = raw;
  if (Boolean(certPath) !== Boolean(keyPath))
    issue(
      certPath ? 'FLYWHEEL_SERVE_TLS_KEY' : 'FLYWHEEL_SERVE_TLS_CERT',
      'HTTPS needs both FLYWHEEL_SERVE_TLS_CERT and FLYWHEEL_SERVE_TLS_KEY',
    );
  if (caPath && !certPath)
    issue('FLYWHEEL_SERVE_TLS_CLIENT_CA', 'client certificates need HTTPS: set FLYWHEEL_SERVE_TLS_CERT and FLYWHEEL_SERVE_TLS_KEY too');

  const cert = certPath ? read(certPath, 'a PEM certificate', (pem) => new X509Certificate(pem)) : undefined;
  if (cert && !cert.ok) issue('FLYWHEEL_SERVE_TLS_CERT', cert.message);
  const key = keyPath ? read<KeyObject>(keyPath, 'an unencrypted PEM private key', (pem) => createPrivateKey(pem)) : undefined;
  if (key && !key.ok) issue('FLYWHEEL_SERVE_TLS_KEY', key.message);
  if (cert?.ok && key?.ok && !cert.value.checkPrivateKey(key.value))
    issue('FLYWHEEL_SERVE_TLS_KEY', `${keyPath} is not the private key of the certificate in FLYWHEEL_SERVE_TLS_CERT (${certPath})`);
  const ca = caPath ? read(caPath, 'a PEM CA certificate', (pem) => new X509Certificate(pem)) : undefined;
  if (ca && !ca.ok) issue('FLYWHEEL_SERVE_TLS_CLIENT_CA', ca.message);
}
