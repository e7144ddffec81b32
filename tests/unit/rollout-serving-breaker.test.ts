// The rollout activities reach the inference server through one breaker per worker process: once
// the server has failed 3 calls in a row, the next activity fails at once, without a request,
// with an error the worker passes to Temporal as retryable (the workflow's retry policy waits).
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRolloutActivities, type RolloutActivityDeps } from '../../activities/rollout/index.ts';
import { createLogger } from '../../lib/log.ts';
import { DependencyUnavailableError } from '../../lib/resilience/breaker.ts';
import { ServingAdminError } from '../../lib/rollout/serving-admin.ts';
import { failureMappingFor, toTemporalFailure } from '../../lib/temporal/failures.ts';

let connections = 0;
let dropping: Server;
let url = '';

beforeAll(async () => {
  // Accepts and hangs up at once: every request fails at the connection, as with a crashing server.
  dropping = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(dropping.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => dropping.close(resolve));
});

describe('rollout activities towards a failing inference server', () => {
  it('fail fast with a retryable DependencyUnavailableError once the breaker is open', async () => {
    const activities = createRolloutActivities({
      serving: () => ({ url }),
      rolloutRunning: () => Promise.resolve(false),
      logger: createLogger({ level: 'silent' }),
    } as unknown as RolloutActivityDeps);
    const route = { model: 'flights', challenger: 2, champion: 1, shadow: true, weight: 0 };
    for (let i = 0; i < 3; i++) await expect(activities.setRolloutRoute(route)).rejects.toBeInstanceOf(ServingAdminError);
    expect(connections).toBe(3);
    const started = performance.now();
    const err = await activities.restoreOrphanedRoute({ model: 'flights' }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(100);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as Error).message).toBe(`the inference server ${url} is unavailable (circuit open after 3 failures)`);
    expect(connections).toBe(3);
    // No mapping: the worker hands it to Temporal as it is, a retryable failure.
    expect(failureMappingFor(err)).toBeUndefined();
    expect(toTemporalFailure(err)).toBe(err);
  });
});
