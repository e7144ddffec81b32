// The environment a training command gets: an allow-list, never the worker's whole environment,
// which holds the store's and the database's credentials that a user's script has no need for.

/** What any program expects to find (locale, home, temp folder, GPU selection); nothing secret. */
export const BASE_ENV_NAMES = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'LD_LIBRARY_PATH',
  'CUDA_VISIBLE_DEVICES',
  'NVIDIA_VISIBLE_DEVICES',
] as const;

export interface CommandEnvOptions {
  /** Worker variables passed through besides BASE_ENV_NAMES. */
  pass?: readonly string[];
  /** Variables set for the command. */
  set?: Record<string, string>;
  /** Folders put first on PATH (the worker's FLYWHEEL_TRAINER_PATH: a venv's `bin`). */
  pathPrefix?: string;
}

/** The command's environment built from `from` (the worker's): allow-listed names only. */
export function commandEnvironment(from: NodeJS.ProcessEnv, options: CommandEnvOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of [...BASE_ENV_NAMES, ...(options.pass ?? [])]) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, options.set ?? {});
  if (options.pathPrefix) env.PATH = env.PATH ? `${options.pathPrefix}:${env.PATH}` : options.pathPrefix;
  return env;
}
