// Why a TLS connection to Temporal failed, in words. The client's gRPC library reports any
// failure as "Failed to connect before the deadline"; after one, a plain TLS handshake with the
// same settings finds the cause (no client certificate, an untrusted server, a plaintext server).
import { isIP } from 'node:net';
import { connect } from 'node:tls';

export interface ProbeTls {
  serverNameOverride?: string | undefined;
  serverRootCACertificate?: Uint8Array | undefined;
  clientCertPair?: { crt: Uint8Array; key: Uint8Array } | undefined;
}

/** A TLS connection to Temporal failed, and a handshake found why (`problem`, with advice). */
export class TemporalTlsError extends Error {
  override readonly name = 'TemporalTlsError';

  constructor(
    readonly address: string,
    readonly problem: string,
    options?: ErrorOptions,
  ) {
    super(`cannot connect to Temporal at ${address} over TLS: ${problem}`, options);
  }
}

const ADVICE: ReadonlyArray<[RegExp, string]> = [
  [
    /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN/i,
    'the server refused the client certificate, or none was sent: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH to a pair its CA signed',
  ],
  [
    /UNABLE_TO_VERIFY|SELF_SIGNED|UNABLE_TO_GET_ISSUER|CERT_UNTRUSTED/i,
    'the server certificate is not signed by a trusted CA: set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it',
  ],
  [/ALTNAME_INVALID/i, 'the server certificate does not name this host: set TEMPORAL_TLS_SERVER_NAME to a name in it'],
  [/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/i, 'the server does not speak TLS (a dev server?): set TEMPORAL_TLS=false'],
  [/ECONNREFUSED/, 'nothing is listening there'],
];

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]+)\]?:(\d+)$/.exec(address);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: address, port: 7233 };
}

/** The handshake's failure with advice, or undefined when a handshake with these settings works. */
export function tlsHandshakeProblem(address: string, tls: ProbeTls, timeoutMs = 3_000): Promise<string | undefined> {
  const { host, port } = splitAddress(address);
  const servername = tls.serverNameOverride ?? (isIP(host) ? undefined : host);
  return new Promise((resolve) => {
    const socket = connect({
      host,
      port,
      ...(servername ? { servername } : {}),
      ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls.clientCertPair ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) } : {}),
      ALPNProtocols: ['h2'],
    });
    const done = (problem: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const text = `${err.code ?? ''} ${err.message}`;
      const advice = ADVICE.find(([pattern]) => pattern.test(text))?.[1];
      done(advice ? `${advice} (${err.message.trim()})` : err.message.trim());
    });
    // A TLS 1.3 server refuses a client certificate after the client's side of the handshake
    // is done: wait briefly for that alert (or for the connection to close without one).
    socket.once('secureConnect', () => {
      setTimeout(() => done(undefined), 500);
      socket.once('close', () =>
        done(
          tls.clientCertPair
            ? undefined
            : `the server closed the connection right after the TLS handshake, and no client certificate was sent: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH if it requires mTLS`,
        ),
      );
    });
  });
}
