// The server's small parts: response cache (LRU + TTL), sticky canary routing, token buckets.
import { describe, expect, it } from 'vitest';
import { ResponseCache, cacheKey } from '../../serving/cache.ts';
import { RateLimiter } from '../../serving/rate-limit.ts';
import { createRowLimiter } from '../../serving/http/auth.ts';
import type { ServingError } from '../../serving/errors.ts';
import { chooseArm, stickyBucket } from '../../serving/router.ts';

/** A cached output row (head units values: 1, or one per class). */
const row = (...values: number[]) => Float32Array.from(values);

describe('ResponseCache', () => {
  it('evicts the least recently used entry past maxEntries', () => {
    const c = new ResponseCache({ maxEntries: 2 });
    c.set('a', row(1));
    c.set('b', row(2));
    expect(c.get('a')).toEqual(row(1)); // a is now the most recent
    c.set('c', row(3));
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toEqual(row(1));
    expect(c.get('c')).toEqual(row(3));
  });

  it('stores a copy, also when a full cache reuses the evicted entry for the new one', () => {
    const c = new ResponseCache({ maxEntries: 2 });
    const out = row(1, 2, 3);
    c.set('a', out.subarray(0, 1));
    c.set('b', out.subarray(1, 2));
    out.fill(9);
    c.set('c', row(3)); // evicts a, whose storage now holds c
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toEqual(row(2));
    expect(c.get('c')).toEqual(row(3));
    c.set('d', row(4, 5)); // another width: evicts b, new storage
    expect(c.get('c')).toEqual(row(3));
    expect(c.get('d')).toEqual(row(4, 5));
    expect(c.size).toBe(2);
  });

  it('keeps exactly what a reference LRU keeps through a long random mix of hits, misses, overwrites and expiries', () => {
    // The reference: recency order held by a Map (delete + set on use), evicting its first key.
    let now = 0;
    const max = 50;
    const ref = new Map<string, { v: number; exp: number }>();
    const c = new ResponseCache({ maxEntries: max, ttlMs: 400, now: () => now });
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      now += random() < 0.1 ? 7 : 0;
      const key = `k${Math.floor(random() * 120)}`;
      const e = ref.get(key);
      const want = e && e.exp > now ? e.v : undefined;
      if (e) ref.delete(key);
      if (e && e.exp > now) ref.set(key, e);
      expect(c.get(key)?.[0]).toBe(want);
      if (want === undefined || random() < 0.1) {
        const v = i;
        if (ref.has(key)) ref.delete(key);
        else if (ref.size >= max) ref.delete(ref.keys().next().value!);
        ref.set(key, { v, exp: now + 400 });
        c.set(key, row(v));
      }
      expect(c.size).toBe(ref.size);
    }
  });

  it('expires entries after ttlMs', () => {
    let now = 1000;
    const c = new ResponseCache({ ttlMs: 50, now: () => now });
    c.set('a', row(1));
    now += 49;
    expect(c.get('a')).toEqual(row(1));
    now += 50;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('drops only the switched model on invalidation, and stores nothing when off', () => {
    const c = new ResponseCache();
    c.set(cacheKey('m', 1, 'x'), row(0.5));
    c.set(cacheKey('other', 1, 'x'), row(0.25, 0.75));
    c.invalidateModel('m');
    expect(c.get(cacheKey('m', 1, 'x'))).toBeUndefined();
    expect(c.get(cacheKey('other', 1, 'x'))).toEqual(row(0.25, 0.75));
    const off = new ResponseCache({ maxEntries: 0 });
    off.set('a', row(1));
    expect(off.enabled).toBe(false);
    expect(off.get('a')).toBeUndefined();
  });

  it('keys differ by version and by input', () => {
    expect(cacheKey('m', 1, 'x')).not.toBe(cacheKey('m', 2, 'x'));
    expect(cacheKey('m', 1, 'x')).not.toBe(cacheKey('m', 1, 'y'));
    expect(cacheKey('m', 1, 'x')).toBe(cacheKey('m', 1, 'x'));
  });

  it('bounds a key whatever the client sends: a long canonical form is keyed by its digest', () => {
    const long = (c: string) => JSON.stringify([c.repeat(4096), c.repeat(4096)]);
    const a = cacheKey('m', 1, long('a'));
    expect(a.length).toBeLessThan(100);
    expect(a).toBe(cacheKey('m', 1, long('a')));
    expect(a).not.toBe(cacheKey('m', 1, long('b')));
    expect(a).not.toBe(cacheKey('m', 2, long('a')));
    // Short forms stay readable: they are their own key.
    expect(cacheKey('m', 1, '["SFO",5]')).toBe('m@1:["SFO",5]');
  });
});

describe('chooseArm', () => {
  const route = { champion: 1, canary: { version: 2, weight: 0.1 } };

  it('sends about `weight` of keys to the canary, each key always to the same arm', () => {
    let canary = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `user-${i}`;
      const a = chooseArm(route, key);
      expect(chooseArm(route, key)).toEqual(a);
      if (a.arm === 'canary') canary++;
    }
    expect(canary / 20_000).toBeGreaterThan(0.09);
    expect(canary / 20_000).toBeLessThan(0.11);
  });

  it('raising the weight only moves keys from champion to canary', () => {
    for (let i = 0; i < 2000; i++) {
      const key = `k${i}`;
      if (chooseArm(route, key).arm === 'canary')
        expect(chooseArm({ champion: 1, canary: { version: 2, weight: 0.5 } }, key).arm).toBe('canary');
    }
  });

  it('serves the champion when there is no canary or its weight is 0; random split without a key', () => {
    expect(chooseArm({ champion: 3 }, 'k')).toEqual({ arm: 'champion', version: 3 });
    expect(chooseArm({ champion: 3, canary: { version: 4, weight: 0 } }, 'k').version).toBe(3);
    expect(chooseArm(route, undefined, () => 0.05).version).toBe(2);
    expect(chooseArm(route, undefined, () => 0.5).version).toBe(1);
    expect(stickyBucket('abc')).toBeGreaterThanOrEqual(0);
    expect(stickyBucket('abc')).toBeLessThan(1);
  });
});

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the wait until the next token', () => {
    let now = 0;
    const l = new RateLimiter(() => now);
    for (let i = 0; i < 5; i++) expect(l.take('k', 10, 5)).toBe(0);
    expect(l.take('k', 10, 5)).toBeCloseTo(0.1, 5);
    expect(l.take('other', 10, 5)).toBe(0); // keys are independent
    now += 100;
    expect(l.take('k', 10, 5)).toBe(0);
    expect(l.take('k', 10, 5)).toBeGreaterThan(0);
  });
});

describe('row limit', () => {
  const principal = (keyId: string) => ({ keyId, name: keyId, scopes: ['predict'] as const, rateLimitRps: null });

  it('charges a request by its instances: a key sending big batches runs out, another key does not', () => {
    let now = 0;
    const limitRows = createRowLimiter({ limiter: new RateLimiter(() => now), rowsPerS: 1000, burst: 2000 });
    limitRows(principal('batcher'), 1000);
    limitRows(principal('batcher'), 1000);
    const err = (() => {
      try {
        limitRows(principal('batcher'), 1000);
      } catch (e) {
        return e as ServingError;
      }
      return undefined;
    })();
    expect(err?.status).toBe(429);
    expect(err?.message).toBe('row limit of 1000 instances/s for this key exceeded (this request has 1000)');
    expect(err?.retryAfterS).toBe(1);
    for (let i = 0; i < 100; i++) limitRows(principal('small'), 1); // unaffected
    now += 1000;
    limitRows(principal('batcher'), 1000); // refilled at the row rate
  });
});

describe('row limit before the body', () => {
  it('refuses a key with no rows left before reading its body, with the wait until one is back', () => {
    let now = 0;
    const limitRows = createRowLimiter({ limiter: new RateLimiter(() => now), rowsPerS: 100, burst: 100 });
    const p = { keyId: 'k', name: 'k', scopes: ['predict'] as const, rateLimitRps: null };
    limitRows.precheck(p); // full bucket
    limitRows(p, 100);
    expect(() => limitRows.precheck(p)).toThrow('row limit of 100 instances/s for this key exceeded');
    now += 10; // one row back
    expect(() => limitRows.precheck(p)).not.toThrow();
  });
});

describe('RateLimiter memory', () => {
  it('keeps at most maxBuckets buckets, forgetting the oldest', () => {
    const l = new RateLimiter(() => 0, 3);
    for (const k of ['a', 'b', 'c']) l.take(k, 1, 1);
    expect(l.take('a', 1, 1)).toBeGreaterThan(0); // 'a' is empty
    l.take('d', 1, 1); // forgets 'a'
    expect(l.take('a', 1, 1)).toBe(0); // a fresh, full bucket
  });
});
