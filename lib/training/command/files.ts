// Moving files between the artifact store and the command's local folders, checksummed both ways.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactCorruptError, ArtifactNotFoundError } from '../../storage/errors.ts';
import type { ArtifactStore, ObjectInfo } from '../../storage/types.ts';

/** Regular files below `root` as `/`-separated relative paths, sorted. Symlinks are followed
 * only when they point at files, so a command cannot make us upload a folder outside its own. */
export async function listLocalFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string, rel: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(join(dir, entry.name), relPath);
      else if (entry.isFile()) out.push(relPath);
      else if (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).catch(() => undefined))?.isFile()) out.push(relPath);
    }
  }
  await walk(root, '');
  return out.sort();
}

export async function uploadFile(store: ArtifactStore, key: string, path: string, signal?: AbortSignal): Promise<ObjectInfo> {
  return store.putStream(key, createReadStream(path), signal ? { signal } : {});
}

/** Downloads one object to `path`, failing with ArtifactCorruptError when its bytes do not hash to
 * `expectedSha256` (or, without one, to the checksum the store recorded). Returns the SHA-256. */
export async function downloadFile(
  store: ArtifactStore,
  key: string,
  path: string,
  options: { expectedSha256?: string; signal?: AbortSignal } = {},
): Promise<string> {
  const hash = createHash('sha256');
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  await mkdir(dirname(path), { recursive: true });
  const source = await store.getStream(key, {
    verify: options.expectedSha256 === undefined,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await pipeline(source, hasher, createWriteStream(path), options.signal ? { signal: options.signal } : {});
  const actual = hash.digest('hex');
  if (options.expectedSha256 !== undefined && actual !== options.expectedSha256) {
    throw new ArtifactCorruptError(store.uriFor(key), options.expectedSha256, actual);
  }
  return actual;
}

/** Brings an input to local disk: an object becomes `<dir>/<its file name>`, a prefix becomes
 * `<dir>/` with the objects below it. Returns the path the command is given. */
export async function downloadInput(store: ArtifactStore, uri: string, dir: string, signal?: AbortSignal): Promise<string> {
  const key = store.keyFor(uri.replace(/\/+$/, ''));
  if (await store.stat(key)) {
    const path = join(dir, basename(key));
    await downloadFile(store, key, path, signal ? { signal } : {});
    return path;
  }
  let count = 0;
  for await (const info of store.list(`${key}/`)) {
    await downloadFile(store, info.key, join(dir, ...info.key.slice(key.length + 1).split('/')), signal ? { signal } : {});
    count++;
  }
  if (count === 0) throw new ArtifactNotFoundError(uri);
  return dir;
}
