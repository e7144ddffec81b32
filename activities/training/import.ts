// `importOnnxModel`: the `onnx` trainer. A model trained elsewhere becomes this cycle's candidate
// once its input and output match the fitted features and the task; from there it is evaluated,
// gated, approved and rolled out like any other.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { s3Location, type SourceContext } from '../../lib/data/sources.ts';
import { loadModelIO } from '../../lib/features/tabular/model-io.ts';
import type { Logger } from '../../lib/log.ts';
import { InvalidModelError } from '../../lib/onnx/index.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import { externalResult, storeExternalModel } from '../../lib/training/external.ts';
import type { ExternalModelResult, ImportModelInput } from '../../lib/contracts/train-model.ts';
import { captureSystemInfo } from '../../lib/tracking/system.ts';
import { withHeartbeats } from './heartbeats.ts';
import { refusingOverwrites, runOwner } from './write-once.ts';

export interface ImportActivityDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  logger: Logger;
  identity: string;
  /** How often the activity beats while it works. @default 5000 */
  keepAliveMs?: number;
}

/** The ONNX file's bytes, from the store, a local path or any S3 bucket the worker can read. */
async function readModel(ctx: SourceContext, uri: string): Promise<Uint8Array> {
  if (uri.startsWith(`${ctx.store.baseUri}/`)) return ctx.store.get(ctx.store.keyFor(uri));
  if (uri.startsWith('file://')) {
    return readFile(fileURLToPath(uri)).catch((err: NodeJS.ErrnoException) => {
      throw new InvalidModelError(`cannot read the model to import ${uri}: ${err.code ?? err.message}`);
    });
  }
  if (uri.startsWith('s3://')) {
    const { store, path } = s3Location(ctx, uri);
    return store.get(path);
  }
  throw new InvalidModelError(`trainer.model ${uri} is neither s3://, file:// nor a path`);
}

export function createImportActivities(deps: ImportActivityDeps) {
  return {
    async importOnnxModel(input: ImportModelInput): Promise<ExternalModelResult> {
      // A large file from another bucket, loaded and run in ONNX Runtime, can outlast the timeout.
      return withHeartbeats(deps.keepAliveMs, () => refusingOverwrites(() => importModel(input)));
    },
  };

  async function importModel(input: ImportModelInput): Promise<ExternalModelResult> {
    const startedAt = new Date().toISOString();
    const io = await loadModelIO(deps.store, input.featureSpecUri);
    const bytes = await readModel({ store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) }, input.modelUri);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const modelUri = await storeExternalModel(
      deps.store,
      input.runKey,
      bytes,
      io,
      { datasetVersion: input.datasetVersion, trainer: 'onnx-import' },
      runOwner(),
    );
    deps.logger.info({ runKey: input.runKey, source: input.modelUri, sha256 }, 'imported ONNX model');
    const result = externalResult(input, io, {
      trainer: 'onnx',
      modelUri,
      identity: deps.identity,
      hyperparameters: {},
      lineage: { sourceUri: input.modelUri, sourceSha256: sha256 },
    });
    return { ...result, system: await captureSystemInfo(deps.identity, 'onnx-import'), startedAt };
  }
}

export type ImportActivities = ReturnType<typeof createImportActivities>;
