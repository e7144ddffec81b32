// The rollout's client of the inference server's admin API against the real server routes
// in-process (embedded stack): replies parse into the shared ServingRoute, and a server error
// becomes a ServingAdminError that carries the server's own message, not its JSON body.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, DependencyUnavailableError } from '../../lib/resilience/breaker.ts';
import { createServingAdmin, isNeutralServingAdminError, ServingAdminError, type ServingAdmin } from '../../lib/rollout/serving-admin.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../fixtures/embedded-server.ts';

let embedded: EmbeddedServer;
let admin: ServingAdmin;

beforeAll(async () => {
  embedded = await startEmbeddedServer({ FLYWHEEL_SERVE_AUTH: 'false' });
  admin = createServingAdmin({ url: embedded.url });
}, 120_000);

afterAll(async () => {
  await embedded?.close();
});

async function failure(call: Promise<unknown>): Promise<ServingAdminError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ServingAdminError);
  return err as ServingAdminError;
}

describe('serving admin client', () => {
  it('reads a route in the shape the server sends', async () => {
    const route = await admin.getRoute('flights');
    expect(route).toEqual({
      model: 'flights',
      champion: { version: expect.any(Number) as number },
      canary: null,
      shadow: null,
      updatedBy: null,
      updatedAt: null,
    });
  });

  it("turns a 400 error body into an error whose message is the server's message", async () => {
    const { champion } = await admin.getRoute('flights');
    const err = await failure(admin.setRoute('flights', { canary: { version: champion.version, weight: 0.1 }, shadow: null }));
    expect(err.message).toBe(
      `PUT ${embedded.url}/v1/admin/models/flights/routing → 400: v${champion.version} is already the champion; a canary must be another version`,
    );
    expect(err.status).toBe(400);
    expect(err.permanent).toBe(true);
  });

  it('a 404 for a model the server does not serve is not permanent (it may load it soon)', async () => {
    const err = await failure(admin.getRoute('nope'));
    expect(err.message).toBe(`GET ${embedded.url}/v1/admin/models/nope/routing → 404: model "nope" is not served here`);
    expect(err.permanent).toBe(false);
  });

  it('keeps a non-JSON body (a proxy in front of the server) as the message', async () => {
    const proxy: Server = createServer((_req, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('upstream unavailable'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const err = await failure(createServingAdmin({ url: base }).reload('flights'));
      expect(err.message).toBe(`POST ${base}/v1/admin/models/flights/reload → 502: upstream unavailable`);
      expect(err.permanent).toBe(false);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('through a breaker: a 4xx leaves it closed, a hung server opens it, and then calls fail at once without reaching it', async () => {
    const breaker = new CircuitBreaker({
      name: 'the inference server',
      failureThreshold: 2,
      timeoutMs: 200,
      isNeutral: isNeutralServingAdminError,
    });
    await failure(createServingAdmin({ url: embedded.url, breaker }).getRoute('nope'));
    expect(breaker.state).toBe('closed');
    let requests = 0;
    const hung: Server = createServer(() => void requests++);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const hungAdmin = createServingAdmin({ url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, breaker });
      for (let i = 0; i < 2; i++)
        await expect(hungAdmin.getRoute('flights')).rejects.toThrow('the inference server did not answer within 200 ms');
      expect(breaker.state).toBe('open');
      const started = performance.now();
      await expect(hungAdmin.reload('flights')).rejects.toBeInstanceOf(DependencyUnavailableError);
      expect(performance.now() - started).toBeLessThan(50);
      expect(requests).toBe(2);
    } finally {
      hung.closeAllConnections();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
