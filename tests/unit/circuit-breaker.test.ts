// The breaker that keeps a down or hung dependency from stalling its callers.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, DependencyUnavailableError } from '../../lib/resilience/breaker.ts';
import { BreakerRegistry } from '../../lib/resilience/registry.ts';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

const fail = () => Promise.reject(new Error('connect ECONNREFUSED'));

describe('CircuitBreaker', () => {
  it('opens after the threshold, fails fast without calling while open, and closes after a good trial', async () => {
    const c = clock();
    const states: string[] = [];
    const b = new CircuitBreaker({
      name: 'the database',
      failureThreshold: 3,
      resetAfterMs: 2000,
      now: c.now,
      onStateChange: (s) => states.push(s),
    });
    for (let i = 0; i < 3; i++) await expect(b.run(fail)).rejects.toThrow('ECONNREFUSED');
    expect(b.state).toBe('open');
    let calls = 0;
    const counted = () => {
      calls++;
      return Promise.resolve(1);
    };
    const open = await b.run(counted).catch((e: unknown) => e);
    expect(open).toBeInstanceOf(DependencyUnavailableError);
    expect((open as DependencyUnavailableError).message).toBe('the database is unavailable (circuit open after 3 failures)');
    expect((open as DependencyUnavailableError).retryAfterS).toBe(2);
    expect(calls).toBe(0);
    c.advance(2000);
    await expect(b.run(counted)).resolves.toBe(1);
    expect(calls).toBe(1);
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('reopens at once when the trial fails', async () => {
    const c = clock();
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 2, resetAfterMs: 1000, now: c.now });
    await expect(b.run(fail)).rejects.toThrow();
    await expect(b.run(fail)).rejects.toThrow();
    c.advance(1000);
    await expect(b.run(fail)).rejects.toThrow('ECONNREFUSED');
    expect(b.state).toBe('open');
    await expect(b.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('fails a hung call at its deadline and counts it', async () => {
    const b = new CircuitBreaker({ name: 'the database', failureThreshold: 1, timeoutMs: 50 });
    const started = performance.now();
    const err = await b.run(() => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(DependencyUnavailableError);
    expect((err as Error).message).toBe('the database did not answer within 50 ms');
    expect(b.state).toBe('open');
  });

  it('does not count failures that say nothing about health (e.g. a constraint violation)', async () => {
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 1, isNeutral: (e) => (e as { code?: string }).code === '23505' });
    await expect(b.run(() => Promise.reject(Object.assign(new Error('duplicate'), { code: '23505' })))).rejects.toThrow('duplicate');
    expect(b.state).toBe('closed');
  });

  it('lets one trial through while half-open: concurrent callers fail fast until it has decided', async () => {
    const c = clock();
    const b = new CircuitBreaker({ name: 'the registry', failureThreshold: 1, resetAfterMs: 1000, now: c.now });
    await expect(b.run(fail)).rejects.toThrow();
    c.advance(1000);
    let release!: (v: number) => void;
    let calls = 0;
    const trial = b.run(() => {
      calls++;
      return new Promise<number>((r) => (release = r));
    });
    expect(b.state).toBe('half-open');
    const second = await b
      .run(() => {
        calls++;
        return Promise.resolve(2);
      })
      .catch((e: unknown) => e);
    expect(second).toBeInstanceOf(DependencyUnavailableError);
    expect((second as Error).message).toBe('the registry is unavailable (a trial call is deciding)');
    expect(calls).toBe(1);
    release(1);
    await expect(trial).resolves.toBe(1);
    expect(b.state).toBe('closed');
    await expect(b.run(() => Promise.resolve(3))).resolves.toBe(3);
  });

  it('closes after a trial that fails neutrally: the dependency answered', async () => {
    const c = clock();
    const notFound = Object.assign(new Error('no such model'), { code: 'NOT_FOUND' });
    const b = new CircuitBreaker({
      name: 'the registry',
      failureThreshold: 1,
      resetAfterMs: 500,
      now: c.now,
      isNeutral: (e) => (e as { code?: string }).code === 'NOT_FOUND',
    });
    await expect(b.run(fail)).rejects.toThrow();
    c.advance(500);
    await expect(b.run(() => Promise.reject(notFound))).rejects.toThrow('no such model');
    expect(b.state).toBe('closed');
    expect(b.snapshot().consecutiveFailures).toBe(0);
  });

  it("aborts the call at its deadline, and a per-call deadline overrides the breaker's", async () => {
    const b = new CircuitBreaker({ name: 'the store', timeoutMs: 5000 });
    let aborted: unknown;
    const started = performance.now();
    const err = await b
      .run(
        (signal) =>
          new Promise((_resolve, reject) =>
            signal.addEventListener('abort', () => {
              aborted = signal.reason;
              reject(new Error('aborted'));
            }),
          ),
        { timeoutMs: 40 },
      )
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((err as Error).message).toBe('the store did not answer within 40 ms');
    expect(aborted).toBeInstanceOf(DependencyUnavailableError);
    expect(b.snapshot().consecutiveFailures).toBe(1);
  });

  it('counts refusals and reports when it opened', async () => {
    const c = clock();
    c.advance(1_700_000_000_000);
    const b = new CircuitBreaker({ name: 'db', failureThreshold: 1, now: c.now });
    expect(b.snapshot()).toEqual({ state: 'closed', consecutiveFailures: 0, rejections: 0, openedAt: null });
    await expect(b.run(fail)).rejects.toThrow();
    await expect(b.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(b.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(b.snapshot()).toEqual({
      state: 'open',
      consecutiveFailures: 1,
      rejections: 2,
      openedAt: new Date(1_700_000_000_000).toISOString(),
    });
  });
});

describe('BreakerRegistry', () => {
  it('reports every transition and refusal by dependency, and shows all states', async () => {
    const events: string[] = [];
    const breakers = new BreakerRegistry({
      onStateChange: (dependency, state) => events.push(`${dependency} ${state}`),
      onReject: (dependency) => events.push(`${dependency} rejected`),
    });
    const c = clock();
    const db = breakers.create('database', { name: 'the database', failureThreshold: 1, resetAfterMs: 100, now: c.now });
    breakers.create('registry');
    await expect(db.run(fail)).rejects.toThrow();
    const refused = await db.run(() => Promise.resolve(1)).catch((e: unknown) => e);
    expect((refused as Error).message).toBe('the database is unavailable (circuit open after 1 failures)');
    c.advance(100);
    await db.run(() => Promise.resolve(1));
    expect(events).toEqual(['database open', 'database rejected', 'database half-open', 'database closed']);
    expect(Object.keys(breakers.snapshot())).toEqual(['database', 'registry']);
    expect(breakers.snapshot()['registry']?.state).toBe('closed');
    expect(breakers.get('database')).toBe(db);
    expect(() => breakers.create('database')).toThrow('a breaker for "database" exists already');
  });
});
