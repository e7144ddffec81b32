// Which model versions this server runs, resolved from registry aliases (champion) and the
// routes table (canary, shadow). A version is downloaded, checksum-verified, checked against its
// fitted features (hash, input width, output width of its task's head), loaded and warmed up before it takes traffic; the switch is one assignment, and
// the old version is unloaded only after its batcher drained, so a hot swap drops no request.
import type { Database } from '../lib/db/index.ts';
import { loadModelIO, type ModelIO } from '../lib/features/tabular/model-io.ts';
import { FittedFeaturesError } from '../lib/features/tabular/state.ts';
import type { Logger } from '../lib/log.ts';
import { readOnnxMetadata } from '../lib/onnx/index.ts';
import { ALIASES, FEATURE_SPEC_TAG, RegistryNotFoundError, type ModelRegistry } from '../lib/registry/index.ts';
import type { ArtifactStore } from '../lib/storage/index.ts';
import { BatchGroup, DynamicBatcher, type BatcherOptions } from './batcher.ts';
import { ServingError } from './errors.ts';
import type { Executor } from './inference/executor.ts';
import type { ServingMetrics } from './metrics.ts';
import type { RouteTable } from './router.ts';
import { createUnseenCounter, type CountUnseen } from './unseen.ts';
import { readRoutes, writeRoute, type StoredRoute } from './traffic-splits.ts';

export interface LoadedVersion {
  model: string;
  version: number;
  /** The version's fitted features: its encoder, task, head and input columns. */
  io: ModelIO;
  /** Unseen-bucket hits of a batch, per vocabulary feature (the unseen-category metric). */
  countUnseen: CountUnseen;
  batcher: DynamicBatcher;
}

export interface ServedModel {
  name: string;
  route: RouteTable;
  versions: Map<number, LoadedVersion>;
  updatedBy?: string;
  updatedAt?: Date;
}

export class ModelRefusedError extends Error {
  override readonly name = 'ModelRefusedError';
}

export interface ModelManagerOptions {
  registry: ModelRegistry;
  store: ArtifactStore;
  db: Database;
  executor: Executor;
  logger: Logger;
  metrics: ServingMetrics;
  batcher: BatcherOptions;
  /** Models to serve; undefined: every registered model with a champion alias. */
  models?: readonly string[];
  /** Called when a model's versions change (cache invalidation). */
  onSwitch?: (model: string) => void;
}

export class ModelManager {
  private served = new Map<string, ServedModel>();
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();
  /** Every version's batcher shares the one inference pool (serving/batcher.ts, BatchGroup). */
  private readonly batchGroup = new BatchGroup();
  private refreshing: Promise<void> | undefined;
  /** Per-model problems from the last refresh (shown by /readyz). */
  readonly problems = new Map<string, string>();

  constructor(private readonly options: ModelManagerOptions) {}

  get(name: string): ServedModel | undefined {
    return this.served.get(name);
  }

  list(): ServedModel[] {
    return [...this.served.values()];
  }

  /** Names this server is configured to serve (or found with a champion on the last refresh). */
  expected(): string[] {
    return this.options.models ? [...this.options.models] : [...new Set([...this.served.keys(), ...this.problems.keys()])];
  }

  /** Re-reads aliases and routes and applies any change; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= this.refreshAll().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Sets the canary and shadow of a served model: loads the versions first, then persists. */
  async setRouting(
    name: string,
    change: { canary: { version: number; weight: number } | null; shadow: number | null },
    actor: string,
  ): Promise<ServedModel> {
    const current = this.served.get(name);
    if (!current) throw new ServingError('notFound', `model ${JSON.stringify(name)} is not served here`);
    for (const version of [change.canary?.version, change.shadow ?? undefined]) {
      if (version !== undefined) await this.version(name, version);
    }
    await this.refreshing;
    const stored = await writeRoute(this.options.db, { model: name, canary: change.canary, shadow: change.shadow, updatedBy: actor });
    await this.apply(name, current.route.champion, stored);
    return this.served.get(name)!;
  }

  async close(): Promise<void> {
    await this.refreshing;
    const all = await Promise.allSettled(this.loaded.values());
    for (const r of all) if (r.status === 'fulfilled') r.value.batcher.close();
  }

  private async refreshAll(): Promise<void> {
    const { registry, logger } = this.options;
    let names: string[];
    try {
      names = this.options.models
        ? [...this.options.models]
        : (await registry.listModels()).filter((m) => ALIASES.champion in m.aliases).map((m) => m.name);
    } catch (err) {
      logger.warn({ err }, 'could not list registered models; keeping the current ones');
      return;
    }
    let routes: Map<string, StoredRoute>;
    try {
      routes = await readRoutes(this.options.db);
    } catch (err) {
      logger.warn({ err }, 'could not read serving routes; keeping the current ones');
      return;
    }
    for (const name of names) {
      try {
        const champion = await registry.getAlias(name, ALIASES.champion);
        await this.apply(name, champion.version, routes.get(name));
        this.problems.delete(name);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // A named model with no champion yet is expected (a first cycle is training); say so quietly.
        const waiting = err instanceof RegistryNotFoundError;
        if (this.problems.get(name) !== message) {
          if (waiting) logger.info({ model: name, reason: message }, 'no champion yet; the model is served once one is promoted');
          else logger.error({ err, model: name }, 'model not loaded; serving the previous version if any');
        }
        this.problems.set(name, message);
      }
    }
  }

  private async apply(name: string, championVersion: number, stored: StoredRoute | undefined): Promise<void> {
    const route: RouteTable = { champion: championVersion };
    if (stored?.canary && stored.canary.weight > 0) route.canary = stored.canary;
    if (stored?.shadow !== null && stored?.shadow !== undefined) route.shadow = stored.shadow;
    const wanted = [...new Set([route.champion, route.canary?.version, route.shadow].filter((v): v is number => v !== undefined))];
    const versions = new Map<number, LoadedVersion>();
    for (const v of wanted) versions.set(v, await this.version(name, v));
    const previous = this.served.get(name);
    const next: ServedModel = { name, route, versions, ...(stored ? { updatedBy: stored.updatedBy, updatedAt: stored.updatedAt } : {}) };
    if (previous && sameRoute(previous.route, route)) {
      this.served.set(name, { ...previous, ...next });
      return;
    }
    this.served.set(name, next); // the atomic switch: requests from now on see the new table
    this.options.logger.info({ model: name, route }, previous ? 'routing changed' : 'model serving');
    // Cached answers are keyed by version; drop them whenever a version comes or goes.
    if (
      !previous ||
      previous.route.champion !== route.champion ||
      previous.route.canary?.version !== route.canary?.version ||
      previous.route.shadow !== route.shadow
    ) {
      this.options.onSwitch?.(name);
    }
    if (previous) for (const [v, lv] of previous.versions) if (!versions.has(v)) void this.retire(lv);
  }

  /** Drains and unloads a version no route uses any more. */
  private async retire(lv: LoadedVersion): Promise<void> {
    const key = versionKey(lv.model, lv.version);
    for (const m of this.served.values()) if (m.versions.get(lv.version) === lv) return;
    await lv.batcher.drain();
    this.loaded.delete(key);
    lv.batcher.close();
    await this.options.executor.unload(key).catch((err: unknown) => this.options.logger.warn({ err, model: key }, 'unload failed'));
    this.options.logger.info({ model: lv.model, version: lv.version }, 'version unloaded');
  }

  private version(name: string, version: number): Promise<LoadedVersion> {
    const key = versionKey(name, version);
    let entry = this.loaded.get(key);
    if (!entry) {
      entry = this.load(name, version);
      entry.catch(() => this.loaded.delete(key));
      this.loaded.set(key, entry);
    }
    return entry;
  }

  private async load(name: string, version: number): Promise<LoadedVersion> {
    const { registry, store, executor, metrics, logger } = this.options;
    const started = performance.now();
    let mv;
    try {
      mv = await registry.getVersion(name, version);
    } catch (err) {
      if (err instanceof RegistryNotFoundError) throw new ServingError('notFound', err.message);
      throw err;
    }
    const specUri = mv.tags[FEATURE_SPEC_TAG];
    if (!specUri) throw new ModelRefusedError(`${name} v${version} has no ${FEATURE_SPEC_TAG} tag: its feature spec is unknown`);
    // `verify` compares the bytes with the SHA-256 recorded when the model was written.
    const bytes = await store.get(store.keyFor(mv.artifactUri), { verify: true });
    let io: ModelIO;
    try {
      io = await loadModelIO(store, specUri);
    } catch (err) {
      // Unreadable or pre-spec-language feature state: this version can never be served as it is.
      if (err instanceof FittedFeaturesError) throw new ModelRefusedError(`${name} v${version}: ${err.message}`, { cause: err });
      throw err;
    }
    const specHash = io.hash;
    const modelHash = readOnnxMetadata(bytes).featureSpecHash;
    if (modelHash !== specHash || mv.lineage.featureSpecHash !== specHash) {
      throw new ModelRefusedError(
        `${name} v${version} was trained with feature spec ${(modelHash ?? 'none').slice(0, 12)} but its spec artifact hashes to ${specHash.slice(0, 12)}: refusing to serve it (training/serving skew)`,
      );
    }
    const key = versionKey(name, version);
    const info = await executor.load(key, bytes, { warmupRows: this.options.batcher.maxBatchSize ?? 32 });
    if (info.inputDim !== io.encoder.dimension || info.outputDim !== io.head.units) {
      await executor.unload(key);
      throw new ModelRefusedError(
        `${name} v${version} takes ${info.inputDim} features and gives ${info.outputDim} outputs; its feature spec makes ${io.encoder.dimension} and its ${io.task.kind} task needs ${io.head.units}`,
      );
    }
    const batchSize = metrics.batchSize.slot({ model: name, version: String(version) });
    const batcher = new DynamicBatcher((x, rows) => executor.run(key, x, rows), info.inputDim, info.outputDim, {
      ...this.options.batcher,
      group: this.batchGroup,
      onBatch: (rows) => batchSize.observe(rows),
      onShed: (reason) => metrics.shed.inc({ reason }),
    });
    logger.info({ model: name, version, ms: Math.round(performance.now() - started) }, 'version loaded and warmed up');
    return { model: name, version, io, countUnseen: createUnseenCounter(io), batcher };
  }
}

export function versionKey(model: string, version: number): string {
  return `${model}@${version}`;
}

function sameRoute(a: RouteTable, b: RouteTable): boolean {
  return (
    a.champion === b.champion && a.shadow === b.shadow && a.canary?.version === b.canary?.version && a.canary?.weight === b.canary?.weight
  );
}
