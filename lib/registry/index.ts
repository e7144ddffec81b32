// Chooses the registry from configuration: MLflow at MLFLOW_TRACKING_URI, else the built-in one.
import type { MlflowAuth } from '../config/schema.ts';
import type { Database } from '../db/index.ts';
import { BuiltinRegistry } from './builtin.ts';
import { MlflowRegistry } from './mlflow.ts';
import { AliasNotFoundError, ModelNotFoundError } from './errors.ts';
import type { ModelRegistry, ModelVersion } from './types.ts';

export function createRegistry(config: { mlflow: { trackingUri?: string; auth?: MlflowAuth } }, db: Database): ModelRegistry {
  return config.mlflow.trackingUri
    ? new MlflowRegistry({ trackingUri: config.mlflow.trackingUri, db, ...(config.mlflow.auth ? { auth: config.mlflow.auth } : {}) })
    : new BuiltinRegistry(db);
}

/** The version an alias points at, or null when the model or the alias does not exist yet;
 * any other error (the registry unreachable) is thrown, never read as "no such alias". */
export async function findAlias(registry: ModelRegistry, model: string, alias: string): Promise<ModelVersion | null> {
  try {
    return await registry.getAlias(model, alias);
  } catch (err) {
    if (err instanceof AliasNotFoundError || err instanceof ModelNotFoundError) return null;
    throw err;
  }
}

export * from './types.ts';
export * from './errors.ts';
export { BuiltinRegistry } from './builtin.ts';
export { MlflowRegistry, type MlflowRegistryOptions } from './mlflow.ts';
export { MlflowClient, authorizationHeader, type MlflowClientOptions } from './mlflow-client.ts';
export * from './tags.ts';
