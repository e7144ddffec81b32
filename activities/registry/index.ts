// Registry activities (CPU queue): a candidate that passed its quality gates becomes a registry
// version with the `challenger` alias (registering the same run twice yields one version), and
// the champion's lineage tells a cycle whether its data is new.
import type { Queryable } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { getRun, linkRunVersion, runMirrorFor, type MlflowRunMirror } from '../../lib/tracking/index.ts';
import { ALIASES, findAlias, type ModelRegistry } from '../../lib/registry/index.ts';
import { FEATURE_SPEC_TAG, MLFLOW_RUN_TAG, REPORT_TAG, SERVED_VARIANT_TAG, variantTag } from '../../lib/registry/tags.ts';
import type { ChampionLineage, ChampionLineageInput, RegisterCandidateInput } from '../../lib/contracts/model-cycle.ts';

export interface RegistryActivityDeps {
  registry: ModelRegistry;
  logger: Logger;
  /** Flywheel's database: the tracked training run is linked to the version it became. @default none */
  db?: Queryable;
  /** Where runs are mirrored in MLflow. @default the registry's MLflow server, when it is MLflow */
  runMirror?: MlflowRunMirror | null;
}

export function createRegistryActivities(deps: RegistryActivityDeps) {
  const mirror = deps.runMirror === undefined ? runMirrorFor(deps.registry) : (deps.runMirror ?? undefined);
  return {
    // Unknown model/version/alias cannot heal on retry (the worker maps it to a non-retryable
    // NotFound); MLflow being down can (retryable).
    async registerCandidate(input: RegisterCandidateInput): Promise<{ version: number }> {
      return register(input);
    },

    /** The champion's version and training dataset version; null when the model has no champion.
     * A registry that cannot be reached fails (retryable): "unknown" is never read as "none". */
    async championLineage(input: ChampionLineageInput): Promise<ChampionLineage | null> {
      const champion = await findAlias(deps.registry, input.model, ALIASES.champion);
      return champion ? { version: champion.version, datasetVersion: champion.lineage.datasetVersion } : null;
    },
  };

  async function register(input: RegisterCandidateInput): Promise<{ version: number }> {
    const int8 = input.variants?.int8;
    // The artifact is the build the version serves; the others stay reachable through their tags.
    const served = input.servedVariant === 'int8' && int8?.passed ? 'int8' : 'fp32';
    // The tracked run (recorded at evaluation), and its MLflow mirror the version links to.
    const tracked = deps.db ? await getRun(deps.db, input.runKey) : null;
    const mlflowRunId = tracked?.mlflowRunId ?? undefined;
    const version = await deps.registry.createVersion({
      model: input.model,
      runId: input.runKey,
      artifactUri: served === 'int8' ? int8!.modelUri : input.modelUri,
      lineage: input.lineage,
      metrics: input.metrics,
      gateReportUri: input.gateReportUri,
      tags: {
        [FEATURE_SPEC_TAG]: input.featureSpecUri,
        [REPORT_TAG]: input.reportUri,
        ...(mlflowRunId ? { [MLFLOW_RUN_TAG]: mlflowRunId } : {}),
        ...(int8
          ? {
              [SERVED_VARIANT_TAG]: served,
              [variantTag('fp32', 'uri')]: input.modelUri,
              [variantTag('int8', 'uri')]: int8.modelUri,
              [variantTag('int8', 'gate')]: `${int8.passed ? 'passed' : 'failed'}: ${int8.summary}`,
            }
          : {}),
      },
    });
    // A retried activity must not add a second, identical history entry.
    if (!version.aliases.includes(ALIASES.challenger)) {
      await deps.registry.setAlias(input.model, ALIASES.challenger, version.version, {
        actor: 'flywheel',
        reason: `passed quality gates: ${input.summary}`,
      });
    }
    if (tracked && deps.db) {
      await linkRunVersion(deps.db, input.runKey, version.version);
      if (mlflowRunId && mirror) await mirror.linkVersion(mlflowRunId, version.version);
    }
    return { version: version.version };
  }
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;
