// Artifact store on a local folder (`file:///abs/folder`), the embedded default.
// Atomic writes: content goes to a temporary file in the same folder tree, is fsynced, then
// renamed into place. Checksums live in a sidecar tree (.flywheel-meta/), so bytes changed behind
// the store's back (a torn copy, bit rot) fail verification. `putOnce` links instead of renaming,
// so an existing object is never replaced.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArtifactCorruptError, ArtifactExistsError, ArtifactNotFoundError, InvalidArtifactKeyError } from './errors.ts';
import { assertValidKey, assertValidPrefix, hashingStream, INTERNAL_PREFIX, sha256Hex, verifyingStream } from './keys.ts';
import type { ArtifactStore, Body, BodyStream, GetOptions, ObjectInfo, PutOptions } from './types.ts';

interface SidecarMeta {
  sha256: string;
  size: number;
  contentType?: string;
  owner?: string;
}

function metaOf(sha256: string, size: number, options: PutOptions): SidecarMeta {
  return {
    sha256,
    size,
    ...(options.contentType ? { contentType: options.contentType } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
  };
}

function isExists(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'EEXIST';
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

export class LocalArtifactStore implements ArtifactStore {
  readonly baseUri: string;
  readonly #root: string;
  readonly #tmpDir: string;
  readonly #metaDir: string;

  private constructor(root: string) {
    this.#root = root;
    this.#tmpDir = join(root, `${INTERNAL_PREFIX}tmp`);
    this.#metaDir = join(root, `${INTERNAL_PREFIX}meta`);
    this.baseUri = pathToFileURL(root).toString().replace(/\/$/, '');
  }

  /** Opens (and creates) the folder named by a `file:///abs/folder` URI. */
  static async create(uri: string): Promise<LocalArtifactStore> {
    const root = fileURLToPath(uri.replace(/\/+$/, ''));
    const store = new LocalArtifactStore(root);
    await mkdir(store.#tmpDir, { recursive: true });
    await mkdir(store.#metaDir, { recursive: true });
    return store;
  }

  uriFor(key: string): string {
    assertValidKey(key);
    return `${this.baseUri}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  keyFor(uri: string): string {
    if (!uri.startsWith(`${this.baseUri}/`)) throw new InvalidArtifactKeyError(uri, `not inside ${this.baseUri}`);
    const key = relative(this.#root, fileURLToPath(uri)).split(sep).join('/');
    assertValidKey(key);
    return key;
  }

  #path(key: string): string {
    assertValidKey(key);
    return join(this.#root, ...key.split('/'));
  }

  #metaPath(key: string): string {
    return join(this.#metaDir, ...key.split('/')) + '.json';
  }

  async put(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    return this.#commit(key, options, async (tmp) => {
      const handle = await open(tmp, 'w');
      try {
        await handle.writeFile(bytes, options.signal ? { signal: options.signal } : {});
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { sha256: sha256Hex(bytes), size: bytes.byteLength };
    });
  }

  async putStream(key: string, body: BodyStream, options: PutOptions = {}): Promise<ObjectInfo> {
    return this.#commit(key, options, async (tmp) => {
      const hasher = hashingStream();
      const out = createWriteStream(tmp, { flags: 'w' });
      await pipeline(Readable.from(body), hasher.stream, out, options.signal ? { signal: options.signal } : {});
      const handle = await open(tmp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { sha256: hasher.hash.digest('hex'), size: hasher.size() };
    });
  }

  /** Create-only: `link` refuses an existing target atomically (rename would replace it). */
  async putOnce(key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const sha256 = sha256Hex(bytes);
    const target = this.#path(key);
    const tmp = join(this.#tmpDir, randomUUID());
    try {
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(bytes, options.signal ? { signal: options.signal } : {});
        await handle.sync();
      } finally {
        await handle.close();
      }
      await mkdir(dirname(target), { recursive: true });
      let meta = metaOf(sha256, bytes.byteLength, options);
      try {
        await link(tmp, target);
        await this.#writeMeta(key, meta);
      } catch (err) {
        if (!isExists(err)) throw err;
        // Compare with the bytes on disk, not the sidecar: a crash may have left the sidecar out.
        const existing = sha256Hex(await readFile(target));
        const recorded = await this.#readMeta(key);
        if (existing !== sha256) {
          if (options.owner && recorded?.owner === options.owner) return this.put(key, bytes, options);
          throw new ArtifactExistsError(key, this.uriFor(key), existing, sha256);
        }
        // The same bytes: the object stays as it is, owner included. A sidecar a crash left out is
        // written back without an owner (who wrote the bytes is unknown).
        meta = recorded ?? metaOf(sha256, bytes.byteLength, { ...options, owner: undefined });
        if (!recorded) await this.#writeMeta(key, meta);
      }
      const st = await stat(target);
      return this.#info(key, st.size, st.mtime, meta);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async #writeMeta(key: string, meta: SidecarMeta): Promise<void> {
    const metaPath = this.#metaPath(key);
    await mkdir(dirname(metaPath), { recursive: true });
    const metaTmp = join(this.#tmpDir, `${randomUUID()}.json`);
    await writeFile(metaTmp, JSON.stringify(meta));
    await rename(metaTmp, metaPath);
  }

  /** Writes to a temp file via `write`, records the checksum, then renames into place. */
  async #commit(
    key: string,
    options: PutOptions,
    write: (tmpPath: string) => Promise<{ sha256: string; size: number }>,
  ): Promise<ObjectInfo> {
    const target = this.#path(key);
    const tmp = join(this.#tmpDir, randomUUID());
    try {
      const { sha256, size } = await write(tmp);
      const st = await stat(tmp);
      const meta = metaOf(sha256, size, options);
      // Old checksum out, new content in, new checksum last. A crash in between leaves "checksum
      // unknown", never a checksum that belongs to other bytes.
      const metaPath = this.#metaPath(key);
      await rm(metaPath, { force: true });
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      await this.#writeMeta(key, meta);
      return this.#info(key, size, st.mtime, meta);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  #info(key: string, size: number, lastModified: Date, meta: SidecarMeta | undefined): ObjectInfo {
    return {
      key,
      uri: this.uriFor(key),
      size,
      lastModified,
      ...(meta ? { sha256: meta.sha256 } : {}),
      ...(meta?.contentType ? { contentType: meta.contentType } : {}),
      ...(meta?.owner ? { owner: meta.owner } : {}),
    };
  }

  async #readMeta(key: string): Promise<SidecarMeta | undefined> {
    try {
      return JSON.parse(await readFile(this.#metaPath(key), 'utf8')) as SidecarMeta;
    } catch {
      return undefined;
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.#path(key));
      if (!st.isFile()) return undefined;
      return this.#info(key, st.size, st.mtime, await this.#readMeta(key));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.stat(key)) !== undefined;
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.#path(key), options.signal ? { signal: options.signal } : {});
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(this.uriFor(key));
      throw err;
    }
    if (options.verify) {
      const info = await this.stat(key);
      const actual = sha256Hex(data);
      if (info?.sha256 && info.sha256 !== actual) throw new ArtifactCorruptError(info.uri, info.sha256, actual);
    }
    return data;
  }

  async getStream(key: string, options: GetOptions = {}): Promise<Readable> {
    const info = await this.stat(key);
    if (!info) throw new ArtifactNotFoundError(this.uriFor(key));
    const stream = createReadStream(this.#path(key), options.signal ? { signal: options.signal } : {});
    if (!options.verify || !info.sha256) return stream;
    const verifier = verifyingStream(info.uri, info.sha256);
    stream.on('error', (err) => verifier.destroy(err));
    return stream.pipe(verifier);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const startDir = slash >= 0 ? prefix.slice(0, slash) : '';
    const keys: string[] = [];
    await this.#walk(startDir, prefix, keys);
    keys.sort();
    for (const key of keys) {
      const info = await this.stat(key);
      if (info) yield info; // deleted meanwhile: skip
    }
  }

  async #walk(dirKey: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dirKey ? join(this.#root, ...dirKey.split('/')) : this.#root, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (!dirKey && entry.name.startsWith(INTERNAL_PREFIX)) continue;
      const key = dirKey ? `${dirKey}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        // Only descend where keys below could still match the prefix.
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) await this.#walk(key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
    await rm(this.#metaPath(key), { force: true });
  }
}
