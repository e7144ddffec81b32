// Token buckets per key (an API key, or a client address): `ratePerS` tokens a second up to `burst`. A request takes one token (or
// `cost`: one per row for the row limit); with too few left it is refused with the seconds until
// enough are back (the Retry-After header).

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Buckets kept at most; past it the least recently created is forgotten (it starts full again). */
const DEFAULT_MAX_BUCKETS = 100_000;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number = () => performance.now(),
    // Keys include client addresses (the unknown-key budget), so the map must not grow without bound.
    private readonly maxBuckets = DEFAULT_MAX_BUCKETS,
  ) {}

  /** Tokens the bucket holds now (refilled, nothing taken). */
  available(key: string, ratePerS: number, burst: number): number {
    const bucket = this.buckets.get(key);
    if (!bucket) return burst;
    return Math.min(burst, bucket.tokens + ((this.now() - bucket.updatedMs) / 1000) * ratePerS);
  }

  /** Returns 0 when allowed, else the seconds to wait. */
  take(key: string, ratePerS: number, burst: number, cost = 1): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = { tokens: burst, updatedMs: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * ratePerS);
    bucket.updatedMs = now;
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return (cost - bucket.tokens) / ratePerS;
  }
}
