// Temporal connections from configuration: plain TCP for a local dev server, TLS or mTLS for a
// self-hosted cluster, API key (+TLS) for Temporal Cloud — the same code reaches all three.
import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { TemporalConfig } from '../config/index.ts';
import { tracingClientInterceptors } from '../telemetry/temporal.ts';

type TlsOption = Exclude<ConnectionOptions['tls'], undefined>;

async function tlsOption(config: TemporalConfig): Promise<TlsOption | undefined> {
  const tls = config.tls;
  if (!tls) return undefined;
  const [crt, key, ca] = await Promise.all([
    tls.certPath ? readFile(tls.certPath) : undefined,
    tls.keyPath ? readFile(tls.keyPath) : undefined,
    tls.caPath ? readFile(tls.caPath) : undefined,
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

export interface ConnectClientOptions {
  /**
   * Give up connecting after this long. A person at a terminal wants an answer in seconds; a
   * worker starting beside its server can wait longer.
   * @default 10_000 (the SDK's connect timeout)
   */
  connectTimeoutMs?: number;
}

export async function connectClient(config: TemporalConfig, options: ConnectClientOptions = {}): Promise<Client> {
  const connection = await Connection.connect({
    ...(await connectionOptions(config)),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeout: options.connectTimeoutMs } : {}),
  });
  // Tracing on: StartWorkflow spans, and the caller's trace carried into the workflow's headers.
  const interceptors = tracingClientInterceptors();
  return new Client({ connection, namespace: config.namespace, ...(interceptors ? { interceptors } : {}) });
}

export async function connectWorkerConnection(config: TemporalConfig): Promise<NativeConnection> {
  return NativeConnection.connect(await connectionOptions(config));
}
