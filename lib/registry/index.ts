// Chooses the registry from configuration: MLflow at MLFLOW_TRACKING_URI, else the built-in one.
import type { Database } from '../db/index.ts';
import { BuiltinRegistry } from './builtin.ts';
import { MlflowRegistry } from './mlflow.ts';
import type { ModelRegistry } from './types.ts';

export function createRegistry(config: { mlflow: { trackingUri?: string } }, db: Database): ModelRegistry {
  return config.mlflow.trackingUri ? new MlflowRegistry({ trackingUri: config.mlflow.trackingUri, db }) : new BuiltinRegistry(db);
}

export * from './types.ts';
export * from './errors.ts';
export { BuiltinRegistry } from './builtin.ts';
export { MlflowRegistry, type MlflowRegistryOptions } from './mlflow.ts';
export { MlflowClient, type MlflowClientOptions } from './mlflow-client.ts';
export * from './tags.ts';
