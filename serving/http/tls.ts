// HTTPS for the inference server, and the client-certificate check of admin routes. The TLS
// handshake asks every client for a certificate but lets those without one in (predict clients
// use API keys only); admin routes then insist on a certificate the client CA signed.
import { readFileSync } from 'node:fs';
import { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { ServeTlsSettings } from '../../lib/config/index.ts';
import { ServingError } from '../errors.ts';

export interface HttpsOptions {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
}

/** Node's https options from the settings (files checked by the config, read here once). */
export function httpsOptions(tls: ServeTlsSettings): HttpsOptions {
  return {
    cert: readFileSync(tls.certPath),
    key: readFileSync(tls.keyPath),
    ...(tls.clientCaPath
      ? // Not rejectUnauthorized: a failed client certificate must not break predict clients'
        // handshakes; requireClientCertificate refuses it where it matters.
        { ca: readFileSync(tls.clientCaPath), requestCert: true, rejectUnauthorized: false }
      : {}),
  };
}

/** Throws 401 without a client certificate and 403 with one the client CA did not sign. */
export function requireClientCertificate(request: FastifyRequest): void {
  const socket = request.raw.socket;
  if (!(socket instanceof TLSSocket))
    throw new ServingError('unauthorized', 'admin routes need HTTPS with a client certificate (FLYWHEEL_SERVE_TLS_CLIENT_CA is set)');
  const peer = socket.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0)
    throw new ServingError(
      'unauthorized',
      "admin routes need a TLS client certificate signed by the server's client CA (FLYWHEEL_SERVE_TLS_CLIENT_CA); none was presented",
    );
  if (!socket.authorized) {
    const subject = typeof peer.subject?.CN === 'string' ? ` "${peer.subject.CN}"` : '';
    throw new ServingError(
      'forbidden',
      `client certificate${subject} is not trusted by the server's client CA: ${String(socket.authorizationError)}`,
    );
  }
}
