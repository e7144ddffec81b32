// The breaker that keeps a down or hung dependency from stalling its callers.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, DependencyUnavailableError } from '../../lib/resilience/breaker.ts';

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
});
