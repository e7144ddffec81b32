// Copies a plan's artifacts between two stores with their checksums verified at both ends: every
// source object is read and checked against the SHA-256 recorded when it was written before
// anything is written, so a corrupt or missing source leaves the target untouched; each write is
// create-only (putOnce: a re-run finds the same bytes and succeeds) and its recorded SHA-256 is
// compared with the source's after the write. Objects are held in memory (model files, specs and
// reports: megabytes, not datasets).
import { ArtifactCorruptError, ArtifactExistsError, ArtifactNotFoundError, type ArtifactStore } from '../storage/index.ts';
import { PromotionError, PROMOTION_FAILURES } from './errors.ts';
import type { ArtifactCopy } from './plan.ts';

export interface CopiedArtifact {
  key: string;
  sourceUri: string;
  targetUri: string;
  sha256: string;
  size: number;
}

export interface CopyOptions {
  signal?: AbortSignal;
  /** Told after each object lands. */
  onCopied?: (copied: CopiedArtifact) => void;
}

async function readVerified(
  store: ArtifactStore,
  copy: ArtifactCopy,
  signal?: AbortSignal,
): Promise<{ bytes: Buffer; sha256: string; contentType?: string }> {
  const info = await store.stat(copy.key);
  if (!info)
    throw new PromotionError(
      PROMOTION_FAILURES.notFound,
      `${copy.sourceUri} (${copy.referencedBy.join(', ')}) does not exist in the source store`,
    );
  if (!info.sha256)
    throw new PromotionError(
      PROMOTION_FAILURES.corrupt,
      `${copy.sourceUri} has no recorded SHA-256 in the source store: its bytes cannot be verified`,
    );
  try {
    const bytes = await store.get(copy.key, { verify: true, ...(signal ? { signal } : {}) });
    return { bytes, sha256: info.sha256, ...(info.contentType ? { contentType: info.contentType } : {}) };
  } catch (err) {
    if (err instanceof ArtifactCorruptError)
      throw new PromotionError(
        PROMOTION_FAILURES.corrupt,
        `${copy.sourceUri}: checksum mismatch in the source store (${err.message}); nothing was copied`,
      );
    if (err instanceof ArtifactNotFoundError)
      throw new PromotionError(PROMOTION_FAILURES.notFound, `${copy.sourceUri} disappeared from the source store while being read`);
    throw err;
  }
}

export async function copyArtifacts(
  copies: readonly ArtifactCopy[],
  source: ArtifactStore,
  target: ArtifactStore,
  options: CopyOptions = {},
): Promise<CopiedArtifact[]> {
  const read = [];
  for (const copy of copies) read.push({ copy, ...(await readVerified(source, copy, options.signal)) });

  const copied: CopiedArtifact[] = [];
  for (const { copy, bytes, sha256, contentType } of read) {
    const written = await target
      .putOnce(copy.key, bytes, { ...(contentType ? { contentType } : {}), ...(options.signal ? { signal: options.signal } : {}) })
      .catch((err: unknown) => {
        if (err instanceof ArtifactExistsError)
          throw new PromotionError(
            PROMOTION_FAILURES.invalid,
            `${copy.targetUri} already holds other bytes (SHA-256 ${err.existingSha256}, the source's is ${sha256}); it was left as it was`,
          );
        throw err;
      });
    const landed = written.sha256 ?? (await target.stat(copy.key))?.sha256;
    if (landed !== sha256)
      throw new PromotionError(
        PROMOTION_FAILURES.corrupt,
        `${copy.targetUri}: the target store recorded SHA-256 ${landed ?? 'none'}, the source ${sha256}; nothing was registered`,
      );
    const done = { key: copy.key, sourceUri: copy.sourceUri, targetUri: copy.targetUri, sha256, size: bytes.length };
    options.onCopied?.(done);
    copied.push(done);
  }
  return copied;
}
