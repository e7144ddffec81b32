// The response cache: LRU with a TTL, keyed by (model version, canonical input). A Map keeps
// insertion order, so re-inserting on a hit makes the first key the least recently used.
import { createHash } from 'node:crypto';

export interface ResponseCacheOptions {
  /** Entries kept; 0 turns the cache off. @default 10000 */
  maxEntries?: number;
  /** @default 60000 */
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  /** The model's output row (head units values). */
  value: Float32Array;
  expiresAt: number;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: ResponseCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.maxEntries > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Float32Array | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores a copy of `value` (the caller may pass a view into a larger output). */
  set(key: string, value: ArrayLike<number>): void {
    if (!this.enabled) return;
    const expiresAt = this.now() + this.ttlMs;
    let entry = this.entries.get(key);
    if (entry) this.entries.delete(key);
    else if (this.entries.size >= this.maxEntries) {
      // Full: the least recently used entry makes room, and its storage takes the new value. Inputs
      // that never repeat churn through a full cache on every miss; reusing the evicted entry keeps
      // that from leaving two long-lived objects per request for the old-generation collector.
      const oldest = this.entries.keys().next().value!;
      entry = this.entries.get(oldest);
      this.entries.delete(oldest);
    }
    if (entry && entry.value.length === value.length) {
      entry.value.set(value);
      entry.expiresAt = expiresAt;
    } else entry = { value: Float32Array.from(value), expiresAt };
    this.entries.set(key, entry);
  }

  /** Drops every entry of one model (its versions changed). */
  invalidateModel(model: string): void {
    const prefix = `${model}@`;
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Canonical forms longer than this are keyed by their digest: a request may carry strings of up to
 * 4,096 characters per field, and ten thousand such keys would hold hundreds of megabytes. */
export const MAX_INLINE_KEY_CHARS = 256;

/** `model@version:` + the instance's canonical form (its input columns in the model's order as
 * JSON, timestamps as parsed epoch ms), so equal inputs written differently share an entry. A short
 * form is its own key (the Map hashes it anyway); a long one is replaced by its sha256, so an entry's
 * size is bounded whatever a client sends. */
export function cacheKey(model: string, version: number, canonical: string): string {
  const form = canonical.length > MAX_INLINE_KEY_CHARS ? `#${createHash('sha256').update(canonical).digest('base64url')}` : canonical;
  return `${model}@${version}:${form}`;
}
