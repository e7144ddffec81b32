// Temporal connections from configuration: plain TCP for a local dev server, TLS or mTLS for a
// self-hosted cluster, API key (+TLS) for Temporal Cloud — the same code reaches all three.
import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConfig } from '../config/index.ts';
import { tlsHandshakeProblem, TemporalTlsError } from './tls-probe.ts';
import { tracingClientInterceptors } from '../telemetry/temporal.ts';

type TlsOption = Exclude<ConnectionOptions['tls'], undefined>;

/** A PEM from its inline text or its file; an unreadable file names the variable that set it. */
async function pem(text: string | undefined, path: string | undefined, variable: string): Promise<Buffer | undefined> {
  if (text !== undefined) return Buffer.from(text);
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    // Keeps `path`: callers tell a configuration problem (a file) from an unreachable server by it.
    const message = `cannot read ${path} (${variable}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    throw Object.assign(new Error(message, { cause: err }), { path });
  }
}

async function tlsOption(config: TemporalConfig): Promise<TlsOption | undefined> {
  const tls = config.tls;
  if (!tls) return undefined;
  const [crt, key, ca] = await Promise.all([
    pem(tls.certPem, tls.certPath, 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
    pem(tls.keyPem?.reveal(), tls.keyPath, 'TEMPORAL_TLS_CLIENT_KEY_PATH'),
    pem(tls.caPem, tls.caPath, 'TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
  ]);
  return {
    ...(tls.serverName ? { serverNameOverride: tls.serverName } : {}),
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
  };
}

/** Options shared by client and worker connections (files read once, here). */
export async function connectionOptions(config: TemporalConfig): Promise<ConnectionOptions & NativeConnectionOptions> {
  const tls = await tlsOption(config);
  return {
    address: config.address,
    ...(tls ? { tls } : {}),
    ...(config.apiKey ? { apiKey: config.apiKey.reveal() } : {}),
  };
}

/** A failed TLS connect's handler: gRPC says only "Failed to connect before the deadline"; a TLS handshake can say why. */
function explainTlsFailure(address: string, tls: TlsOption | undefined) {
  return async function explainTls(err: unknown): Promise<never> {
    const problem = tls ? await tlsHandshakeProblem(address, tls === true ? {} : tls) : undefined;
    if (!problem) throw err;
    throw new TemporalTlsError(address, problem, { cause: err });
  };
}

export interface ConnectClientOptions {
  /**
   * Give up connecting after this long. A person at a terminal wants an answer in seconds; a
   * worker starting beside its server can wait longer.
   * @default 10_000 (the SDK's connect timeout)
   */
  connectTimeoutMs?: number;
}

export async function connectClient(config: TemporalConfig, options: ConnectClientOptions = {}): Promise<Client> {
  const base = await connectionOptions(config);
  const connection = await Connection.connect({
    ...base,
    ...(options.connectTimeoutMs !== undefined ? { connectTimeout: options.connectTimeoutMs } : {}),
  }).catch(explainTlsFailure(config.address, base.tls));
  // Tracing on: StartWorkflow spans, and the caller's trace carried into the workflow's headers.
  const interceptors = tracingClientInterceptors();
  return new Client({ connection, namespace: config.namespace, ...(interceptors ? { interceptors } : {}) });
}

export async function connectWorkerConnection(config: TemporalConfig): Promise<NativeConnection> {
  const base = await connectionOptions(config);
  // The SDK's core names a TLS alert only when it reads it before the close; a handshake always can.
  return NativeConnection.connect(base).catch(explainTlsFailure(config.address, base.tls));
}
