// Checkpoints in the artifact store: `<runKey>/checkpoints/step-<10-digit step>/<files>` plus a
// `manifest.json` (file list + SHA-256) written last. A checkpoint without its manifest, or with a
// file that does not hash to the manifest, is incomplete and never resumed from.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ArtifactCorruptError, ArtifactNotFoundError } from '../../storage/errors.ts';
import type { ArtifactStore } from '../../storage/types.ts';
import { TrainerProtocolError } from './errors.ts';
import { downloadFile, listLocalFiles, uploadFile } from './files.ts';
import { isSafeRelativeDir } from './protocol.ts';
import type { CheckpointManifest, TrainerMetrics } from './types.ts';

export const CHECKPOINT_MANIFEST = 'manifest.json';
const STEP_DIR = /^step-(\d+)$/;

export function checkpointKey(runKey: string, step: number): string {
  return `${runKey}/checkpoints/step-${String(step).padStart(10, '0')}`;
}

/** A checkpoint `latestCheckpoint` passed over, and why. */
export interface SkippedCheckpoint {
  uri: string;
  reason: string;
}

export interface CheckpointSearch {
  /** URI prefix of the newest complete, verified checkpoint; undefined when there is none. */
  uri: string | undefined;
  manifest: CheckpointManifest | undefined;
  /** Newer checkpoints that were incomplete or corrupt, newest first: callers should warn. */
  skipped: SkippedCheckpoint[];
}

/** Uploads the files of a finished checkpoint folder, then its manifest, then empties the folder.
 * Re-storing a step (a retried run passing the same step again) first removes the old manifest,
 * so the step reads as incomplete until the new one is whole. */
export async function storeCheckpoint(
  store: ArtifactStore,
  runKey: string,
  checkpoint: { step: number; epoch?: number; metrics: TrainerMetrics; localDir: string },
  signal?: AbortSignal,
): Promise<{ uri: string; manifest: CheckpointManifest }> {
  const prefix = checkpointKey(runKey, checkpoint.step);
  const paths = await listLocalFiles(checkpoint.localDir);
  if (paths.length === 0) throw new TrainerProtocolError(`checkpoint folder ${checkpoint.localDir} holds no files`);
  if (paths.includes(CHECKPOINT_MANIFEST)) {
    throw new TrainerProtocolError(`a checkpoint may not hold a top-level ${CHECKPOINT_MANIFEST}: the runner writes it`);
  }
  await store.delete(`${prefix}/${CHECKPOINT_MANIFEST}`);
  const files: CheckpointManifest['files'] = [];
  for (const path of paths) {
    const info = await uploadFile(store, `${prefix}/${path}`, join(checkpoint.localDir, ...path.split('/')), signal);
    if (!info.sha256) throw new Error(`store returned no checksum for ${info.uri}`);
    files.push({ path, size: info.size, sha256: info.sha256 });
  }
  const manifest: CheckpointManifest = {
    version: 1,
    step: checkpoint.step,
    ...(checkpoint.epoch !== undefined ? { epoch: checkpoint.epoch } : {}),
    metrics: checkpoint.metrics,
    createdAt: new Date().toISOString(),
    files,
  };
  await store.put(`${prefix}/${CHECKPOINT_MANIFEST}`, JSON.stringify(manifest, null, 2), {
    contentType: 'application/json',
    ...(signal ? { signal } : {}),
  });
  await rm(checkpoint.localDir, { recursive: true, force: true });
  return { uri: store.uriFor(prefix), manifest };
}

function checkpointPrefixOf(store: ArtifactStore, uri: string): string {
  return store.keyFor(uri.replace(/\/+$/, '').replace(/\/manifest\.json$/, ''));
}

function isManifest(value: unknown): value is CheckpointManifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<CheckpointManifest>;
  return (
    m.version === 1 &&
    typeof m.step === 'number' &&
    Array.isArray(m.files) &&
    m.files.every(
      (f) => typeof f?.path === 'string' && isSafeRelativeDir(f.path) && typeof f.sha256 === 'string' && typeof f.size === 'number',
    )
  );
}

/** Reads and checks a checkpoint's manifest; throws ArtifactNotFoundError when it has none. */
export async function readCheckpointManifest(store: ArtifactStore, uri: string): Promise<CheckpointManifest> {
  const key = `${checkpointPrefixOf(store, uri)}/${CHECKPOINT_MANIFEST}`;
  const stored = await store.stat(key);
  if (!stored) throw new ArtifactNotFoundError(store.uriFor(key));
  const manifest: unknown = JSON.parse((await store.get(key, { verify: true })).toString('utf8'));
  if (!isManifest(manifest)) throw new Error(`${store.uriFor(key)} is not a checkpoint manifest`);
  return manifest;
}

/** Downloads a checkpoint into `dir`, every file checked against the manifest. */
export async function restoreCheckpoint(store: ArtifactStore, uri: string, dir: string, signal?: AbortSignal): Promise<CheckpointManifest> {
  const prefix = checkpointPrefixOf(store, uri);
  const manifest = await readCheckpointManifest(store, uri);
  for (const file of manifest.files) {
    await downloadFile(store, `${prefix}/${file.path}`, join(dir, ...file.path.split('/')), {
      expectedSha256: file.sha256,
      ...(signal ? { signal } : {}),
    });
  }
  return manifest;
}

/** Reads every file of a stored checkpoint and compares it with the manifest. */
async function verifyCheckpoint(store: ArtifactStore, prefix: string, signal?: AbortSignal): Promise<CheckpointManifest> {
  const manifest = await readCheckpointManifest(store, store.uriFor(prefix));
  for (const file of manifest.files) {
    const key = `${prefix}/${file.path}`;
    const hash = createHash('sha256');
    await pipeline(await store.getStream(key, signal ? { signal } : {}), hash, signal ? { signal } : {});
    const actual = hash.digest('hex');
    if (actual !== file.sha256) throw new ArtifactCorruptError(store.uriFor(key), file.sha256, actual);
  }
  return manifest;
}

/** The newest checkpoint of a run that is complete and whose bytes verify. Reads the checkpoints
 * it checks in full (newest first, stopping at the first good one). */
export async function latestCheckpoint(
  store: ArtifactStore,
  runKey: string,
  options: { signal?: AbortSignal } = {},
): Promise<CheckpointSearch> {
  const base = `${runKey}/checkpoints/`;
  const steps = new Map<string, { step: number; hasManifest: boolean }>();
  for await (const info of store.list(base)) {
    const [dir, ...rest] = info.key.slice(base.length).split('/');
    const match = dir !== undefined ? STEP_DIR.exec(dir) : null;
    if (!dir || !match?.[1]) continue;
    const entry = steps.get(dir) ?? { step: Number(match[1]), hasManifest: false };
    if (rest.join('/') === CHECKPOINT_MANIFEST) entry.hasManifest = true;
    steps.set(dir, entry);
  }
  const newestFirst = [...steps].sort((a, b) => b[1].step - a[1].step);
  const skipped: SkippedCheckpoint[] = [];
  for (const [dir, { hasManifest }] of newestFirst) {
    const prefix = `${base}${dir}`;
    const uri = store.uriFor(prefix);
    if (!hasManifest) {
      skipped.push({ uri, reason: `incomplete: no ${CHECKPOINT_MANIFEST}` });
      continue;
    }
    try {
      const manifest = await verifyCheckpoint(store, prefix, options.signal);
      return { uri, manifest, skipped };
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      skipped.push({ uri, reason: err instanceof Error ? err.message : String(err) });
    }
  }
  return { uri: undefined, manifest: undefined, skipped };
}
