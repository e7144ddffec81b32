// The handshake that explains a failed TLS connection to Temporal: each cause a user can fix gets
// its advice, against real Node TLS servers with the test CA's certificates.
import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { createServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tlsHandshakeProblem } from '../../lib/temporal/tls-probe.ts';
import { makeTestCerts, type TestCerts } from '../fixtures/tls-certs.ts';

let certs: TestCerts;
const servers: Server[] = [];
let mtls: string;
let plain: string;

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  certs = makeTestCerts();
  const read = (path: string) => readFileSync(path);
  mtls = await listen(
    createServer(
      { cert: read(certs.serverCert), key: read(certs.serverKey), ca: read(certs.caCert), requestCert: true, rejectUnauthorized: true },
      (s) => s.end(),
    ),
  );
  plain = await listen(createTcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
});

afterAll(() => {
  for (const s of servers) s.close();
});

describe('tlsHandshakeProblem', () => {
  const trust = () => ({ serverRootCACertificate: readFileSync(certs.caCert) });
  const pair = () => ({ clientCertPair: { crt: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) } });

  it('finds nothing wrong with a client certificate the server trusts', async () => {
    expect(await tlsHandshakeProblem(mtls, { ...trust(), ...pair() })).toBeUndefined();
  });

  it('says the client certificate is missing or refused', async () => {
    expect(await tlsHandshakeProblem(mtls, trust())).toMatch(
      /^the server refused the client certificate, or none was sent: set TEMPORAL_TLS_CLIENT_CERT_PATH/,
    );
  });

  it('says the server certificate is untrusted, or does not name the host', async () => {
    expect(await tlsHandshakeProblem(mtls, pair())).toMatch(
      /^the server certificate is not signed by a trusted CA: set TEMPORAL_TLS_SERVER_CA_CERT_PATH/,
    );
    expect(await tlsHandshakeProblem(mtls, { ...trust(), ...pair(), serverNameOverride: 'other.example' })).toMatch(
      /^the server certificate does not name this host: set TEMPORAL_TLS_SERVER_NAME/,
    );
  });

  it('says the server speaks no TLS at all', async () => {
    expect(await tlsHandshakeProblem(plain, {})).toMatch(/^the server does not speak TLS \(a dev server\?\): set TEMPORAL_TLS=false/);
  });
});
