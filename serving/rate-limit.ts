// Token buckets per key (an API key, or a client address): `ratePerS` tokens a second up to `burst`. A request takes one token (or
// `cost`: one per row for the row limit); with too few left it is refused with the seconds until
// enough are back (the Retry-After header).
//
// Across replicas the limit is shared by partitioning: behind a load balancer that spreads a key's
// requests evenly over N replicas, each replica enforces rate/N and burst/N (`share` = N), so the
// fleet admits about the configured rate without a shared store on the request path. Its error
// is the imbalance of the spread (docs/load-balancer.md has the measured figure); while a replica
// is down, the others admit only their shares, so the fleet under-admits, never over-admits.

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
    /** Replicas sharing each key's limits: rates and bursts given to `take`/`available` are
     * divided by it. @default 1 */
    private readonly share = 1,
  ) {
    if (!Number.isInteger(share) || share < 1) throw new RangeError(`rate-limit share must be a positive integer, got ${share}`);
  }

  /** Tokens the bucket holds now (refilled, nothing taken). */
  available(key: string, ratePerS: number, burst: number): number {
    ratePerS /= this.share;
    burst /= this.share;
    const bucket = this.buckets.get(key);
    if (!bucket) return burst;
    return Math.min(burst, bucket.tokens + ((this.now() - bucket.updatedMs) / 1000) * ratePerS);
  }

  /** Returns 0 when allowed, else the seconds to wait. */
  take(key: string, ratePerS: number, burst: number, cost = 1): number {
    ratePerS /= this.share;
    burst /= this.share;
    // A request larger than this replica's bucket takes the whole bucket (callers already cap a
    // cost at the full burst; the share must not make a request that fits the fleet's limit fail
    // forever).
    cost = Math.min(cost, burst);
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
