// Data-plane activities (CPU queue): ingest, validate, profile, features. Each opens DuckDB for
// its own scan, heartbeats while it works, and passes the cancellation signal into the engine.
// Library errors pass up as they are; the worker's failure table makes bad data a non-retryable
// DataValidationFailed.
import { Context } from '@temporalio/activity';
import { withDuck, type Duck } from '../../lib/data/duck.ts';
import { ingestDataset } from '../../lib/data/ingest.ts';
import {
  buildFeaturesForVersion,
  loadDataset,
  profileDatasetVersion,
  readManifest,
  readProfile,
  requireModelColumns,
  storedFeatures,
  validateDatasetVersion,
} from '../../lib/data/prepare.ts';
import type { SourceContext } from '../../lib/data/sources.ts';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import type { Logger } from '../../lib/log.ts';
import type { ArtifactStore, S3StoreOptions } from '../../lib/storage/index.ts';
import type {
  BuildFeaturesResult,
  IngestResult,
  PrepareDataInput,
  ProfileDatasetResult,
  ValidateDatasetResult,
} from '../../lib/contracts/prepare-data.ts';

export interface DataActivityDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  logger: Logger;
  /** @default 10000 */
  heartbeatIntervalMs?: number;
}

/** What the model reads, as the workflow passes it (absent in inputs from before the feature language). */
type ModelColumnsInput = Pick<PrepareDataInput, 'features' | 'task' | 'label' | 'time'>;

/** The model's columns for validation and profiling: none for an input that names no features
 * (profiles then cover the table's own columns); an input from before the feature language, whose
 * `features` is the old `{kind}`, is refused as buildFeatures would refuse it — at once and for
 * good, not as a TypeError retried over reloads of the data. */
function columnsOf(input: ModelColumnsInput): ReturnType<typeof requireModelColumns> | Record<string, never> {
  return input.features === undefined ? {} : requireModelColumns(input);
}

export function createDataActivities(deps: DataActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };
  const interval = deps.heartbeatIntervalMs ?? 10_000;

  /** Runs a step with DuckDB, heartbeating its progress and logging its failure. */
  async function step<T>(name: string, fn: (duck: Duck, signal: AbortSignal, progress: (s: string) => void) => Promise<T>): Promise<T> {
    const context = Context.current();
    let last = name;
    const progress = (s: string) => {
      last = `${name}: ${s}`;
      context.heartbeat({ step: last });
    };
    const timer = setInterval(() => context.heartbeat({ step: last }), interval);
    try {
      return await withDuck((duck) => fn(duck, context.cancellationSignal, progress));
    } catch (err) {
      deps.logger.warn({ step: name, err: err instanceof Error ? err.message : String(err) }, 'data step failed');
      throw err;
    } finally {
      clearInterval(timer);
    }
  }

  return {
    async ingestDataset(input: Pick<PrepareDataInput, 'dataset' | 'sourceUris'>): Promise<IngestResult> {
      return step('ingest', async (duck, signal, progress) => {
        const m = await ingestDataset(duck, ctx, { dataset: input.dataset, sourceUris: input.sourceUris, signal, onProgress: progress });
        return { datasetVersion: m.datasetVersion, manifestUri: m.manifestUri, rows: m.rows };
      });
    },

    async validateDataset(
      input: {
        manifestUri: string;
        validationSpec: Record<string, unknown>;
        referenceProfileUri?: string;
      } & ModelColumnsInput,
    ): Promise<ValidateDatasetResult> {
      const columns = columnsOf(input);
      return step('validate', async (duck, signal, progress) => {
        const spec = parseValidationSpec(input.validationSpec);
        const manifest = await readManifest(deps.store, input.manifestUri);
        const reference = input.referenceProfileUri ? await readProfile(deps.store, input.referenceProfileUri) : undefined;
        progress('loading');
        await loadDataset(duck, ctx, manifest, signal);
        progress('checking rules');
        const { report, reportUri } = await validateDatasetVersion(duck, deps.store, manifest, spec, reference, signal, columns);
        return { reportUri, summary: report.summary, warnings: report.warnings };
      });
    },

    async profileDataset(input: { manifestUri: string; referenceProfileUri?: string } & ModelColumnsInput): Promise<ProfileDatasetResult> {
      const columns = columnsOf(input);
      return step('profile', async (duck, signal, progress) => {
        const manifest = await readManifest(deps.store, input.manifestUri);
        const reference = input.referenceProfileUri ? await readProfile(deps.store, input.referenceProfileUri) : undefined;
        progress('loading');
        await loadDataset(duck, ctx, manifest, signal);
        progress('computing statistics');
        const { profile, profileUri } = await profileDatasetVersion(duck, deps.store, manifest, reference, signal, columns);
        return { profileUri, rows: profile.rows };
      });
    },

    async buildFeatures(
      input: { manifestUri: string; splits?: PrepareDataInput['splits'] } & ModelColumnsInput,
    ): Promise<BuildFeaturesResult> {
      // An input from before the feature language fails at once, not after loading the data.
      const columns = requireModelColumns(input);
      return step('features', async (duck, signal, progress) => {
        const manifest = await readManifest(deps.store, input.manifestUri);
        // A retry (or another model with this spec on the version) finds them built: no data to load.
        let out = await storedFeatures(deps.store, manifest, columns, input.splits ?? {});
        if (!out) {
          progress('loading');
          await loadDataset(duck, ctx, manifest, signal);
          progress('splitting and fitting');
          out = await buildFeaturesForVersion(duck, deps.store, manifest, columns, input.splits ?? {}, signal);
        }
        return { featureSpecUri: out.featureSpecUri, featureSpecHash: out.featureSpecHash, task: out.task, splits: out.splits };
      });
    },
  };
}

export type DataActivities = ReturnType<typeof createDataActivities>;
