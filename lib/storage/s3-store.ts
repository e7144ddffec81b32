// Artifact store on S3 or any S3-compatible service (`s3://bucket/prefix`). Credentials come
// from the AWS SDK's default provider chain. A PutObject is atomic by S3's semantics; a streamed
// upload goes to a temporary key first and is copied into place with its checksum, so a reader
// never sees a partial object nor one without its SHA-256.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ArtifactCorruptError, ArtifactExistsError, ArtifactNotFoundError, InvalidArtifactKeyError } from './errors.ts';
import { assertValidKey, assertValidPrefix, hashingStream, INTERNAL_PREFIX, sha256Hex, verifyingStream } from './keys.ts';
import type { ArtifactStore, Body, BodyStream, GetOptions, ObjectInfo, PutOptions } from './types.ts';

export interface S3StoreOptions {
  /** Custom endpoint for S3-compatible stores, e.g. `http://127.0.0.1:7070`. */
  endpoint?: string;
  /** @default false */
  forcePathStyle?: boolean;
  /** @default 'us-east-1' */
  region?: string;
  /** Inject a client (tests, shared connection pools). */
  client?: S3Client;
}

const SHA_META = 'sha256';
const OWNER_META = 'owner';

function metadata(sha256: string, options: PutOptions): Record<string, string> {
  return { [SHA_META]: sha256, ...(options.owner ? { [OWNER_META]: options.owner } : {}) };
}

/** A conditional write lost: the key exists (412), or another conditional write to it is in flight (409). */
function isPreconditionFailed(err: unknown): boolean {
  if (!(err instanceof S3ServiceException)) return false;
  const status = err.$metadata.httpStatusCode;
  return err.name === 'PreconditionFailed' || err.name === 'ConditionalRequestConflict' || status === 412 || status === 409;
}

function isNotFound(err: unknown): boolean {
  if (err instanceof S3ServiceException) {
    return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
  }
  return false;
}

export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new InvalidArtifactKeyError(uri, 'not an s3://bucket/prefix URI');
  return { bucket: match[1], prefix: (match[2] ?? '').replace(/\/+$/, '') };
}

/** The S3 client these options describe (their own, when they carry one): the store's, and any
 * other reader of the same bucket (the console's presigned links) configured alike. */
export function s3ClientFor(options: S3StoreOptions = {}): S3Client {
  return (
    options.client ??
    new S3Client({
      region: options.region ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle ?? false,
    })
  );
}

export class S3ArtifactStore implements ArtifactStore {
  readonly baseUri: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  private constructor(uri: string, client: S3Client) {
    const { bucket, prefix } = parseS3Uri(uri);
    this.#bucket = bucket;
    this.#prefix = prefix;
    this.#client = client;
    this.baseUri = prefix ? `s3://${bucket}/${prefix}` : `s3://${bucket}`;
  }

  static create(uri: string, options: S3StoreOptions = {}): S3ArtifactStore {
    return new S3ArtifactStore(uri, s3ClientFor(options));
  }

  uriFor(key: string): string {
    assertValidKey(key);
    return `${this.baseUri}/${key}`;
  }

  keyFor(uri: string): string {
    if (!uri.startsWith(`${this.baseUri}/`)) throw new InvalidArtifactKeyError(uri, `not inside ${this.baseUri}`);
    const key = uri.slice(this.baseUri.length + 1);
    assertValidKey(key);
    return key;
  }

  #objectKey(key: string): string {
    assertValidKey(key);
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  #internalKey(name: string): string {
    const key = `${INTERNAL_PREFIX}tmp/${name}`;
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return this.#putObject(key, bytes, sha256Hex(bytes), options);
  }

  /**
   * Create-only: PutObject with `If-None-Match: *`, which S3 (and versitygw, see
   * tests/integration/artifact-store-s3.test.ts) refuse with 412 when the key exists, so two
   * writers cannot both win. The HEAD first answers the common case (a retry) without a failed write.
   */
  async putOnce(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    const present = await this.stat(key);
    if (present) return this.#settleExisting(present, bytes, sha256, options);
    try {
      return await this.#putObject(key, bytes, sha256, options, { ifNoneMatch: true });
    } catch (err) {
      if (!isPreconditionFailed(err)) throw err;
      // Another writer won the race: what it wrote decides, as for an object found up front.
      const winner = await this.stat(key);
      if (!winner) throw err;
      return this.#settleExisting(winner, bytes, sha256, options);
    }
  }

  /** An object is already at the key: the same bytes are success, the owning run may replace it,
   * anything else is ArtifactExistsError. Objects written by something else carry no checksum. */
  async #settleExisting(present: ObjectInfo, bytes: Uint8Array, sha256: string, options: PutOptions): Promise<ObjectInfo> {
    const stored = present.sha256 ?? sha256Hex(await this.get(present.key));
    if (stored === sha256) return present;
    if (options.owner && present.owner === options.owner) return this.#putObject(present.key, bytes, sha256, options);
    throw new ArtifactExistsError(present.key, this.uriFor(present.key), stored, sha256);
  }

  async #putObject(
    key: string,
    bytes: Uint8Array,
    sha256: string,
    options: PutOptions,
    mode: { ifNoneMatch?: boolean } = {},
  ): Promise<ObjectInfo> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#objectKey(key),
        Body: bytes,
        ContentLength: bytes.byteLength,
        ...(mode.ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        Metadata: metadata(sha256, options),
        ...(options.contentType ? { ContentType: options.contentType } : {}),
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    return { key, uri: this.uriFor(key), size: bytes.byteLength, lastModified: new Date(), sha256, ...ct(options) };
  }

  async putStream(key: string, body: BodyStream, options: PutOptions = {}): Promise<ObjectInfo> {
    const target = this.#objectKey(key);
    const tmpKey = this.#internalKey(randomUUID());
    const hasher = hashingStream();
    const source = Readable.from(body);
    source.on('error', (err) => hasher.stream.destroy(err));
    const upload = new Upload({
      client: this.#client,
      params: { Bucket: this.#bucket, Key: tmpKey, Body: source.pipe(hasher.stream) },
      ...(options.signal ? { abortController: abortControllerFor(options.signal) } : {}),
    });
    try {
      await upload.done();
      const sha256 = hasher.hash.digest('hex');
      // Server-side copy with the checksum as metadata: the final key appears whole, at once.
      await this.#client.send(
        new CopyObjectCommand({
          Bucket: this.#bucket,
          Key: target,
          CopySource: `${this.#bucket}/${encodeURIComponent(tmpKey).replace(/%2F/g, '/')}`,
          MetadataDirective: 'REPLACE',
          Metadata: metadata(sha256, options),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
        }),
      );
      return { key, uri: this.uriFor(key), size: hasher.size(), lastModified: new Date(), sha256, ...ct(options) };
    } finally {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: tmpKey })).catch(() => undefined);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
      const sha256 = head.Metadata?.[SHA_META];
      const owner = head.Metadata?.[OWNER_META];
      return {
        key,
        uri: this.uriFor(key),
        size: head.ContentLength ?? 0,
        lastModified: head.LastModified ?? new Date(0),
        ...(sha256 ? { sha256 } : {}),
        ...(head.ContentType ? { contentType: head.ContentType } : {}),
        ...(owner ? { owner } : {}),
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async #getObject(key: string, signal?: AbortSignal) {
    try {
      return await this.#client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(this.uriFor(key));
      throw err;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const res = await this.#getObject(key, options.signal);
    const data = Buffer.from(await res.Body!.transformToByteArray());
    const expected = res.Metadata?.[SHA_META];
    if (options.verify && expected) {
      const actual = sha256Hex(data);
      if (actual !== expected) throw new ArtifactCorruptError(this.uriFor(key), expected, actual);
    }
    return data;
  }

  async getStream(key: string, options: GetOptions = {}): Promise<Readable> {
    const res = await this.#getObject(key, options.signal);
    const stream = res.Body as Readable;
    const expected = res.Metadata?.[SHA_META];
    if (!options.verify || !expected) return stream;
    const verifier = verifyingStream(this.uriFor(key), expected);
    stream.on('error', (err) => verifier.destroy(err));
    return stream.pipe(verifier);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const base = this.#prefix ? `${this.#prefix}/` : '';
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: base + prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const obj of page.Contents ?? []) {
        if (!obj.Key) continue;
        const key = obj.Key.slice(base.length);
        if (key.startsWith(INTERNAL_PREFIX)) continue;
        // Listings carry no user metadata; callers who need the checksum ask stat().
        yield { key, uri: this.uriFor(key), size: obj.Size ?? 0, lastModified: obj.LastModified ?? new Date(0) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string): Promise<void> {
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#objectKey(key) }));
  }

  /** Releases the client's sockets. */
  dispose(): void {
    this.#client.destroy();
  }
}

function ct(options: PutOptions): { contentType?: string; owner?: string } {
  return { ...(options.contentType ? { contentType: options.contentType } : {}), ...(options.owner ? { owner: options.owner } : {}) };
}

function abortControllerFor(signal: AbortSignal): AbortController {
  const controller = new AbortController();
  if (signal.aborted) controller.abort();
  else signal.addEventListener('abort', () => controller.abort(), { once: true });
  return controller;
}
