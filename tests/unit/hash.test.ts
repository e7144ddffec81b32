import { describe, expect, it } from 'vitest';
import { fnv1a32, unitHash } from '../../lib/hash.ts';
import { stickyBucket } from '../../serving/router.ts';

// These values decide canary stickiness and which replayed flights get feedback: pinned so a
// change to the hash cannot silently move users between arms.
describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('hashes UTF-16 code units', () => {
    expect(fnv1a32('é✓')).toBe(0x6cc799f5);
  });
});

describe('unitHash', () => {
  it('is the hash as a fraction of 2^32, bit for bit', () => {
    expect(unitHash('')).toBe(0.5043428998906165);
    expect(unitHash('abc')).toBe(0.10265976446680725);
    expect(unitHash('user-42')).toBe(0.009284238098189235);
    expect(unitHash('2001-03-15|WN|1234|LAS')).toBe(0.667479039169848);
  });

  it('is the router sticky bucket', () => {
    for (const key of ['', 'abc', 'user-42']) expect(stickyBucket(key)).toBe(unitHash(key));
  });
});
