// Checkpoints in the artifact store (never worker-local disk): one object per checkpoint under
// `<runKey>/checkpoints/step-<globalStep>.ckpt`, written atomically with its SHA-256. Resume
// takes the newest checkpoint that reads back intact; corrupt ones are skipped with a warning.
import type { Logger } from '../../log.ts';
import { ArtifactCorruptError, ArtifactNotFoundError, type ArtifactStore } from '../../storage/index.ts';
import { CheckpointFormatError, decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint-format.ts';

export function checkpointKey(runKey: string, globalStep: number): string {
  return `${runKey}/checkpoints/step-${String(globalStep).padStart(10, '0')}.ckpt`;
}

export async function saveCheckpoint(store: ArtifactStore, runKey: string, ckpt: Checkpoint): Promise<string> {
  const info = await store.put(checkpointKey(runKey, ckpt.state.globalStep), encodeCheckpoint(ckpt), {
    contentType: 'application/octet-stream',
  });
  return info.uri;
}

export async function loadCheckpoint(store: ArtifactStore, uri: string): Promise<Checkpoint> {
  return decodeCheckpoint(await store.get(store.keyFor(uri), { verify: true }));
}

export interface LatestCheckpoint {
  uri: string;
  checkpoint: Checkpoint;
  /** Newer checkpoints that failed to read back, with why. */
  skipped: Array<{ uri: string; reason: string }>;
}

export async function latestValidCheckpoint(store: ArtifactStore, runKey: string, logger?: Logger): Promise<LatestCheckpoint | undefined> {
  const keys: string[] = [];
  for await (const o of store.list(`${runKey}/checkpoints/`)) if (o.key.endsWith('.ckpt')) keys.push(o.key);
  keys.sort().reverse(); // zero-padded steps: lexical order is step order
  const skipped: LatestCheckpoint['skipped'] = [];
  for (const key of keys) {
    const uri = store.uriFor(key);
    try {
      return { uri, checkpoint: await loadCheckpoint(store, uri), skipped };
    } catch (err) {
      if (!(
        err instanceof ArtifactCorruptError ||
        err instanceof CheckpointFormatError ||
        err instanceof ArtifactNotFoundError ||
        err instanceof SyntaxError
      ))
        throw err;
      skipped.push({ uri, reason: err.message });
      logger?.warn({ uri, reason: err.message }, 'skipping a corrupt checkpoint');
    }
  }
  return undefined;
}
