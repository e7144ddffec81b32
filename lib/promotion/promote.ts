// Steps a and b of a cross-environment promotion, run by the CLI with both environments' clients:
// read the version in the source registry, copy what it points at into the target store (verified,
// lib/promotion/copy.ts), and register it in the target registry with lineage back to the source.
// The same source version always registers as the same target version (its run id is derived),
// so a re-run after a failure finishes the job instead of adding a version.
import type { Logger } from '../log.ts';
import { RegistryNotFoundError, type ModelRegistry, type ModelVersion } from '../registry/index.ts';
import type { ArtifactStore } from '../storage/index.ts';
import { copyArtifacts, type CopiedArtifact } from './copy.ts';
import { PromotionError, PROMOTION_FAILURES } from './errors.ts';
import { planPromotion } from './plan.ts';

/** Lineage tags on a promoted version, naming where it came from. */
export const PROMOTED_FROM_TAGS = {
  env: 'flywheel.promotedFrom.env',
  version: 'flywheel.promotedFrom.version',
  runId: 'flywheel.promotedFrom.runId',
  datasetVersion: 'flywheel.promotedFrom.datasetVersion',
  artifactUri: 'flywheel.promotedFrom.artifactUri',
} as const;

export interface PromotionSide {
  env: string;
  registry: ModelRegistry;
  store: ArtifactStore;
}

export interface PromoteVersionInput {
  model: string;
  version: number;
  source: PromotionSide;
  target: PromotionSide;
  /** Progress lines (what is copied, what is registered). */
  onProgress?: (line: string) => void;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface PromotedVersion {
  source: ModelVersion;
  target: ModelVersion;
  copied: CopiedArtifact[];
}

/** The target run id: one per source environment and version, so a re-run finds its version. */
export function promotedRunId(sourceEnv: string, source: Pick<ModelVersion, 'version' | 'runId'>): string {
  return `promoted:${sourceEnv}:v${source.version}:${source.runId}`;
}

export async function promoteVersion(input: PromoteVersionInput): Promise<PromotedVersion> {
  const { model, source, target } = input;
  if (source.env === target.env) throw new PromotionError(PROMOTION_FAILURES.invalid, `--from and --to are both ${source.env}`);
  const say = input.onProgress ?? (() => undefined);

  let version: ModelVersion;
  try {
    version = await source.registry.getVersion(model, input.version);
  } catch (err) {
    if (err instanceof RegistryNotFoundError) throw new PromotionError(PROMOTION_FAILURES.notFound, `${source.env}: ${err.message}`);
    throw err;
  }
  const plan = planPromotion(version, source.store, target.store);
  say(`${source.env} ${model} v${version.version}: ${plan.copies.length} artifact(s) to copy to ${target.store.baseUri}`);
  const copied = await copyArtifacts(plan.copies, source.store, target.store, {
    ...(input.signal ? { signal: input.signal } : {}),
    onCopied: (c) => say(`  copied ${c.key} (${c.size} bytes, sha256 ${c.sha256.slice(0, 12)}…)`),
  });

  const registered = await target.registry.createVersion({
    model,
    runId: promotedRunId(source.env, version),
    artifactUri: plan.artifactUri,
    lineage: version.lineage,
    metrics: version.metrics,
    ...(plan.gateReportUri !== undefined ? { gateReportUri: plan.gateReportUri } : {}),
    tags: {
      ...plan.tags,
      [PROMOTED_FROM_TAGS.env]: source.env,
      [PROMOTED_FROM_TAGS.version]: String(version.version),
      [PROMOTED_FROM_TAGS.runId]: version.runId,
      [PROMOTED_FROM_TAGS.datasetVersion]: version.lineage.datasetVersion,
      [PROMOTED_FROM_TAGS.artifactUri]: version.artifactUri,
    },
    description: version.description || `promoted from ${source.env} v${version.version}`,
  });
  say(`${target.env} ${model} v${registered.version}: registered (from ${source.env} v${version.version})`);
  input.logger?.info(
    { model, from: source.env, sourceVersion: version.version, to: target.env, version: registered.version },
    'version promoted',
  );
  return { source: version, target: registered, copied };
}
