export { loadConfig, ConfigError, type Env, type ConfigProblem } from './load.ts';
export { ENV_VARS, type EnvVarName } from './vars.ts';
export {
  COMMON_VARS,
  WORKER_VARS,
  SERVE_VARS,
  CONSOLE_VARS,
  isLoopbackHost,
  type ConsoleSettings,
  type ServeSettings,
  type ServeTlsSettings,
  type CommonConfig,
  type WorkerConfig,
  type TemporalConfig,
  type TracingConfig,
  type DatabaseConfig,
  type ArtifactStoreConfig,
  type ProcessKind,
  type ConfigFor,
} from './schema.ts';
export { Secret, redactUrl } from './secret.ts';
