// The per-replica partition of a key's limit: with `share` = N each replica admits rate/N and burst/N.
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../serving/rate-limit.ts';

describe('RateLimiter shared by replicas', () => {
  it('admits burst/N at once and refills at rate/N, with the wait for this replica', () => {
    let now = 0;
    const l = new RateLimiter(() => now, undefined, 2);
    for (let i = 0; i < 5; i++) expect(l.take('k', 10, 10)).toBe(0);
    expect(l.take('k', 10, 10)).toBeCloseTo(0.2, 5); // one token every 1/5 s here
    expect(l.available('k', 10, 10)).toBeCloseTo(0, 5);
    now += 1000;
    expect(l.available('k', 10, 10)).toBeCloseTo(5, 5); // capped at burst/2
  });

  it('lets a request bigger than this replica’s bucket take the whole bucket instead of failing forever', () => {
    const l = new RateLimiter(() => 0, undefined, 4);
    expect(l.take('rows', 100, 100, 100)).toBe(0);
    expect(l.take('rows', 100, 100, 100)).toBeCloseTo(1, 5); // its 25 rows back at 25 rows/s
  });

  it('refuses a share that is not a positive integer', () => {
    expect(() => new RateLimiter(undefined, undefined, 0)).toThrow('rate-limit share must be a positive integer, got 0');
  });
});
