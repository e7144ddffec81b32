// The CLI's one way to Temporal: connect (failing in seconds, with the address and how to change
// it, when nothing answers), run a command with the client, and turn how a workflow ended into
// an exit code.
import { connect } from 'node:net';
import {
  isGrpcServiceError,
  NamespaceNotFoundError,
  WorkflowFailedError,
  type Client,
  type WorkflowExecutionStatusName,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure, TimeoutFailure } from '@temporalio/common';
import { loadConfig, type TemporalConfig } from '../lib/config/index.ts';
import { innermostError } from '../lib/errors.ts';
import { connectClient } from '../lib/temporal/connection.ts';
import { TemporalTlsError } from '../lib/temporal/tls-probe.ts';
import { CliError, EXIT_CODES } from './output.ts';

export type CliConfig = ReturnType<typeof loadConfig<'cli'>>;

/** Node and tsx take about 2 s to start; with this the whole command answers within 5 s. */
const CONNECT_TIMEOUT_MS = 2500;

export class TemporalUnreachableError extends CliError {
  override readonly name = 'TemporalUnreachableError';

  constructor(
    readonly address: string,
    why: string,
    options?: ErrorOptions,
  ) {
    super(
      `cannot reach Temporal at ${address} (${why}); set TEMPORAL_ADDRESS=<host:port> or pass --address <host:port> (\`flywheel dev\` runs a local one on 127.0.0.1:7233)`,
      EXIT_CODES.unreachable,
      options,
    );
  }
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
};

/**
 * A plain TCP connect first: a stopped server or a misspelt host fails here at once, where gRPC
 * would keep retrying until its deadline.
 */
function probe(address: string, timeoutMs: number): Promise<void> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const settle = (err?: Error) => {
      socket.destroy();
      if (err) reject(new TemporalUnreachableError(address, describeSocketError(err), { cause: err }));
      else resolve();
    };
    socket.once('connect', () => settle());
    socket.once('timeout', () => settle(new Error(`no answer within ${timeoutMs / 1000} s`)));
    socket.once('error', settle);
  });
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  return (err.code && SOCKET_ERRORS[err.code]) ?? err.message;
}

/** grpc-js sends through these proxies; a direct TCP probe would test the wrong path. */
function grpcUsesProxy(): boolean {
  return Boolean(process.env.grpc_proxy || process.env.https_proxy || process.env.http_proxy);
}

const GRPC_UNIMPLEMENTED = 12;

/**
 * The SDK reads UNIMPLEMENTED from GetSystemInfo as an old server and carries on; every
 * supported server has it, so it means some other HTTP server answered (the Web UI's port is the
 * usual mix-up), and the first real call would fail with a bare "Failed to query Workflow".
 */
async function checkIsTemporal(client: Client, address: string): Promise<void> {
  try {
    await client.connection.withDeadline(Date.now() + CONNECT_TIMEOUT_MS, () => client.workflowService.getSystemInfo({}));
  } catch (err) {
    const why =
      isGrpcServiceError(err) && err.code === GRPC_UNIMPLEMENTED
        ? `something listens there, but it is not a Temporal frontend: ${err.details}`
        : err instanceof Error
          ? err.message
          : String(err);
    throw new TemporalUnreachableError(address, why, { cause: err });
  }
}

/** The client every CLI command uses; close it with `client.connection.close()`. */
export async function connectCli(temporal: TemporalConfig): Promise<Client> {
  const probed = !grpcUsesProxy();
  if (probed) await probe(temporal.address, CONNECT_TIMEOUT_MS);
  let client: Client;
  try {
    client = await connectClient(temporal, { connectTimeoutMs: CONNECT_TIMEOUT_MS });
  } catch (err) {
    // An unreadable TLS file is a configuration problem with its own message (the path).
    if (err instanceof Error && 'path' in err) throw err;
    // grpc-js only says "Failed to connect before the deadline"; the probe knows a bit more.
    const why =
      err instanceof TemporalTlsError
        ? `TLS: ${err.problem}`
        : probed
          ? `something listens there, but no Temporal frontend answered within ${CONNECT_TIMEOUT_MS / 1000} s: a Web UI or other HTTP port, or TLS on one side only?`
          : err instanceof Error
            ? err.cause instanceof Error
              ? err.cause.message
              : err.message
            : String(err);
    throw new TemporalUnreachableError(temporal.address, why, { cause: err });
  }
  try {
    await checkIsTemporal(client, temporal.address);
  } catch (err) {
    await client.connection.close();
    throw err;
  }
  return client;
}

/** `env`: the variables the config is read from (`flywheel apply --env` passes an environment's). */
export async function withClient<T>(
  fn: (client: Client, config: CliConfig) => Promise<T>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<T> {
  const config = loadConfig('cli', env);
  const client = await connectCli(config.temporal);
  try {
    return await fn(client, config);
  } catch (err) {
    if (err instanceof NamespaceNotFoundError) {
      throw new CliError(
        `namespace ${JSON.stringify(err.namespace)} does not exist on Temporal at ${config.temporal.address}; set TEMPORAL_NAMESPACE or pass --namespace <name>`,
        EXIT_CODES.config,
        { cause: err },
      );
    }
    throw err;
  } finally {
    await client.connection.close();
  }
}

/** Closed for good: nothing more will happen in this workflow. */
export function isClosed(status: WorkflowExecutionStatusName): boolean {
  return ['COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT'].includes(status);
}

/** A workflow a command waited on ended without completing: exit 1, with how and why. */
export class WorkflowEndedError extends CliError {
  override readonly name = 'WorkflowEndedError';

  constructor(
    readonly workflowId: string,
    readonly status: 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT',
    reason: string,
  ) {
    super(`${workflowId} ended ${status}${reason ? `: ${reason}` : ''}`, EXIT_CODES.failed);
  }
}

/** The innermost cause is the one a person can act on (the activity's error, not "Activity task failed"). */
function rootReason(err: Error): string {
  const cause = innermostError(err);
  const type = cause instanceof ApplicationFailure && cause.type ? `${cause.type}: ` : '';
  return `${type}${cause.message}`.replace(/\s+/g, ' ').trim();
}

function endedError(workflowId: string, err: WorkflowFailedError): WorkflowEndedError {
  const cause = err.cause;
  if (cause instanceof TerminatedFailure)
    return new WorkflowEndedError(workflowId, 'TERMINATED', cause.message === 'Workflow execution terminated' ? '' : rootReason(cause));
  if (cause instanceof CancelledFailure) return new WorkflowEndedError(workflowId, 'CANCELLED', '');
  if (cause instanceof TimeoutFailure) return new WorkflowEndedError(workflowId, 'TIMED_OUT', '');
  return new WorkflowEndedError(workflowId, 'FAILED', rootReason(err));
}

/** The workflow's result; a run that ended any other way throws WorkflowEndedError. */
export async function workflowResult<T>(handle: WorkflowHandle): Promise<T> {
  try {
    return (await handle.result()) as T;
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw endedError(handle.workflowId, err);
    throw err;
  }
}
