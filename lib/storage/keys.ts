// Key rules shared by every store, so a key that works on the local folder works on S3 too.
import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ArtifactCorruptError, InvalidArtifactKeyError } from './errors.ts';

/** Keys under this prefix belong to the store itself (temporary uploads, checksums). */
export const INTERNAL_PREFIX = '.flywheel-';

export function assertValidKey(key: string): void {
  if (key.length === 0) throw new InvalidArtifactKeyError(key, 'empty');
  if (key.length > 900) throw new InvalidArtifactKeyError(key, 'longer than 900 characters');
  if (key.startsWith('/')) throw new InvalidArtifactKeyError(key, 'starts with /');
  if (key.endsWith('/')) throw new InvalidArtifactKeyError(key, 'ends with /');
  if (key.includes('\\')) throw new InvalidArtifactKeyError(key, 'contains a backslash');
  if (/[\u0000-\u001f]/.test(key)) throw new InvalidArtifactKeyError(key, 'contains a control character');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new InvalidArtifactKeyError(key, `has an empty, "." or ".." segment`);
    }
  }
  if (key.startsWith(INTERNAL_PREFIX)) throw new InvalidArtifactKeyError(key, `${INTERNAL_PREFIX}* is reserved`);
}

export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  if (prefix.startsWith('/') || prefix.includes('\\') || prefix.split('/').some((s) => s === '..' || s === '.')) {
    throw new InvalidArtifactKeyError(prefix, 'not a valid key prefix');
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A pass-through that hashes what flows through it. */
export function hashingStream(): { stream: Transform; hash: Hash; size: () => number } {
  const hash = createHash('sha256');
  let size = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { stream, hash, size: () => size };
}

/** A pass-through that fails at its end when the content's SHA-256 is not `expected`. */
export function verifyingStream(uri: string, expected: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      const actual = hash.digest('hex');
      callback(actual === expected ? null : new ArtifactCorruptError(uri, expected, actual));
    },
  });
}
