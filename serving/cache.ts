// The response cache: LRU with a TTL, keyed by (model version, canonical input). The entries form a
// doubly linked list in recency order (head: least recently used) beside a Map for lookup. An
// earlier version kept the order in the Map itself (delete + set on every hit, evicting
// `keys().next()`): V8 leaves a deleted Map entry as a hole until the table is rebuilt, and finding
// the first key walks past every hole, so on a full cache of never-repeating inputs each miss
// paid ~5 µs to evict (a microbenchmark of 10,000 entries: set 5.0 µs → see the commit).
import { createHash } from 'node:crypto';

export interface ResponseCacheOptions {
  /** Entries kept; 0 turns the cache off. @default 10000 */
  maxEntries?: number;
  /** @default 60000 */
  ttlMs?: number;
  now?: () => number;
}

interface Entry {
  key: string;
  /** The model's output row (head units values). */
  value: Float32Array;
  expiresAt: number;
  /** Less recently used neighbour (null at the head). */
  prev: Entry | null;
  /** More recently used neighbour (null at the tail). */
  next: Entry | null;
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  /** Least recently used. */
  private head: Entry | null = null;
  /** Most recently used. */
  private tail: Entry | null = null;
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
    if (entry.expiresAt <= this.now()) {
      this.remove(entry);
      return undefined;
    }
    this.toTail(entry);
    return entry.value;
  }

  /** Stores a copy of `value` (the caller may pass a view into a larger output). */
  set(key: string, value: ArrayLike<number>): void {
    if (!this.enabled) return;
    const expiresAt = this.now() + this.ttlMs;
    let entry = this.entries.get(key);
    if (!entry && this.entries.size >= this.maxEntries && this.head) {
      // Full: the least recently used entry makes room, and its storage takes the new value. Inputs
      // that never repeat churn through a full cache on every miss; reusing the evicted entry keeps
      // that from leaving two long-lived objects per request for the old-generation collector.
      entry = this.head;
      this.entries.delete(entry.key);
      this.unlink(entry);
      entry.key = key;
      this.entries.set(key, entry);
      this.append(entry);
    } else if (entry) this.toTail(entry);
    if (entry && entry.value.length === value.length) {
      entry.value.set(value);
      entry.expiresAt = expiresAt;
      return;
    }
    const fresh: Entry = { key, value: Float32Array.from(value), expiresAt, prev: null, next: null };
    if (entry) this.remove(entry);
    this.entries.set(key, fresh);
    this.append(fresh);
  }

  /** Drops every entry of one model (its versions changed). */
  invalidateModel(model: string): void {
    const prefix = `${model}@`;
    for (const entry of this.entries.values()) if (entry.key.startsWith(prefix)) this.remove(entry);
  }

  clear(): void {
    this.entries.clear();
    this.head = this.tail = null;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry.key);
    this.unlink(entry);
  }

  private toTail(entry: Entry): void {
    if (this.tail === entry) return;
    this.unlink(entry);
    this.append(entry);
  }

  private unlink(entry: Entry): void {
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = null;
  }

  private append(entry: Entry): void {
    entry.prev = this.tail;
    entry.next = null;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
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
