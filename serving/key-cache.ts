// API keys verified from memory, so a request never waits on the database: a snapshot of every
// active key, reloaded every `refreshMs` (the revocation latency) and kept through a database
// outage for up to `maxStaleMs`. A key the snapshot lacks (created since the last reload, or
// unknown) is looked up once — but only within a per-source budget, so a client guessing keys
// cannot turn each guess into a database query — and the answer is remembered briefly.
import { findApiKey, hashApiKey, listActiveApiKeys, type ApiKeyInfo } from '../lib/auth/api-keys.ts';
import type { Queryable } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';
import { ServingError } from './errors.ts';
import type { RateLimiter } from './rate-limit.ts';

export interface KeyCacheOptions {
  /** Queries go through the serving database guard (deadline + breaker). */
  db: Queryable;
  logger: Logger;
  limiter: RateLimiter;
  /** @default 5000 */
  refreshMs?: number;
  /** @default 900000 */
  maxStaleMs?: number;
  /** Lookups of keys missing from the snapshot, per client address per second. @default 2 */
  missLookupsPerSourceRps?: number;
  /** @default 10 */
  missLookupsBurst?: number;
  /** How long an unknown key is remembered as unknown. @default 5000 */
  negativeTtlMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Entries in the unknown-key memory; past it the oldest are forgotten. */
const MAX_NEGATIVE = 10_000;

export class KeyCache {
  private keys = new Map<string, ApiKeyInfo>();
  private loadedAt = 0;
  private readonly negative = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: KeyCacheOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the snapshot (a failure is logged; lookups fall back to the database) and keeps it fresh. */
  async start(): Promise<void> {
    await this.reload();
    this.timer = setInterval(() => void this.reload(), this.options.refreshMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Milliseconds since the last successful reload (Infinity before the first). */
  get staleMs(): number {
    return this.loadedAt === 0 ? Infinity : this.now() - this.loadedAt;
  }

  async reload(): Promise<boolean> {
    try {
      this.keys = await listActiveApiKeys(this.options.db);
      this.loadedAt = this.now();
      this.negative.clear();
      return true;
    } catch (err) {
      this.options.logger.warn({ err, staleMs: this.staleMs }, 'could not reload API keys; keeping the last snapshot');
      return false;
    }
  }

  /** The key's record, undefined for an unknown or revoked key; a ServingError when it cannot tell. */
  async verify(key: string, source: string): Promise<ApiKeyInfo | undefined> {
    const hash = hashApiKey(key);
    const fresh = this.staleMs <= (this.options.maxStaleMs ?? 900_000);
    const known = this.keys.get(hash);
    if (known && fresh) return known;
    const unknownUntil = this.negative.get(hash);
    if (unknownUntil !== undefined && unknownUntil > this.now() && fresh) return undefined;
    const waitS = this.options.limiter.take(
      `unknown-key:${source}`,
      this.options.missLookupsPerSourceRps ?? 2,
      this.options.missLookupsBurst ?? 10,
    );
    if (waitS > 0) throw new ServingError('rateLimited', 'too many unrecognised API keys from this address', Math.max(1, Math.ceil(waitS)));
    let info: ApiKeyInfo | undefined;
    try {
      info = await findApiKey(this.options.db, key);
    } catch {
      throw new ServingError('unavailable', 'cannot check this API key right now (database unreachable); retry later', 2);
    }
    if (info) this.keys.set(hash, info);
    else this.rememberUnknown(hash);
    return info;
  }

  private rememberUnknown(hash: string): void {
    if (this.negative.size >= MAX_NEGATIVE) {
      const oldest = this.negative.keys().next().value;
      if (oldest !== undefined) this.negative.delete(oldest);
    }
    this.negative.set(hash, this.now() + (this.options.negativeTtlMs ?? 5000));
  }
}
