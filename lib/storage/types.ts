// The artifact store: every large payload (datasets, models, checkpoints, reports) lives here and
// workflows pass URIs. Writes are atomic (a reader sees the old object or the whole new one) and
// carry a SHA-256 so corruption is detectable.
import type { Readable } from 'node:stream';

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
  /**
   * Who writes the object (a training run's workflow run id), recorded with it. `putOnce` lets the
   * same owner replace its own object: an attempt retried before its run completed (and so before
   * anything registered it) may produce other bytes than the attempt that died.
   */
  owner?: string;
}

export interface GetOptions {
  /** Compare the bytes with the SHA-256 recorded at write time; mismatch → ArtifactCorruptError. */
  verify?: boolean;
  signal?: AbortSignal;
}

export interface ObjectInfo {
  /** Key relative to the store's base URI, e.g. `models/flights/v3/model.onnx`. */
  key: string;
  /** Full URI, e.g. `s3://bucket/prefix/models/flights/v3/model.onnx`. */
  uri: string;
  size: number;
  lastModified: Date;
  /** Hex SHA-256 of the content, when known (always for objects this store wrote). */
  sha256?: string;
  contentType?: string;
  /** PutOptions.owner of the write, when it had one. */
  owner?: string;
}

export type Body = Uint8Array | string;
export type BodyStream = Readable | AsyncIterable<Uint8Array>;

export interface ArtifactStore {
  /** `file:///abs/folder` or `s3://bucket/prefix`, without a trailing slash. */
  readonly baseUri: string;
  uriFor(key: string): string;
  /** The key of a URI inside this store; throws InvalidArtifactKeyError for one outside it. */
  keyFor(uri: string): string;
  put(key: string, body: Body, options?: PutOptions): Promise<ObjectInfo>;
  putStream(key: string, body: BodyStream, options?: PutOptions): Promise<ObjectInfo>;
  /**
   * Create-only write, for artifacts a registry version points at (model files): writes when the
   * key is free; when it already holds the same bytes (same SHA-256) returns it unchanged, so an
   * activity's retry succeeds; other bytes replace it only when `options.owner` wrote it (the same
   * run retried); otherwise throws ArtifactExistsError and leaves the object as it was.
   */
  putOnce(key: string, body: Body, options?: PutOptions): Promise<ObjectInfo>;
  get(key: string, options?: GetOptions): Promise<Buffer>;
  /** With `verify`, the stream errors with ArtifactCorruptError at its end on a mismatch. */
  getStream(key: string, options?: GetOptions): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Idempotent: deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}
