// Parses configuration once per process. Errors name each bad variable and the form expected;
// entry points turn a ConfigError into exit code 2.
import { ENV_VARS, type EnvVarName } from './vars.ts';
import { CONFIG_SCHEMAS, type ConfigFor, type ProcessKind } from './schema.ts';
import { loadTemporalProfile, underEnvironment } from './temporal-profile.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The process exit code for invalid configuration. */
  static readonly EXIT_CODE = 2;

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.message}`).join('\n')}`);
  }
}

function isKnown(name: string): name is EnvVarName {
  return Object.hasOwn(ENV_VARS, name);
}

function describeValue(name: string, env: Env): string {
  const value = env[name];
  if (value === undefined) return 'it is not set';
  if (isKnown(name) && 'secret' in ENV_VARS[name] && ENV_VARS[name].secret) return 'got a value (hidden: secret)';
  return `got ${JSON.stringify(value)}`;
}

/** Empty strings count as unset, the way shells and compose files usually mean them. */
function withoutEmpty(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

export function loadConfig<K extends ProcessKind>(kind: K, env: Env = process.env): ConfigFor<K> {
  const explicit = withoutEmpty(env);
  // A Temporal config-file profile sits under the environment: explicit variables win over it.
  const profile = loadTemporalProfile(explicit);
  if (!profile.ok) throw new ConfigError([{ variable: profile.variable, message: profile.message }]);
  const fromProfile = profile.layer ? underEnvironment(profile.layer, explicit) : {};
  const input = { ...fromProfile, ...explicit };
  const result = CONFIG_SCHEMAS[kind].safeParse(input);
  if (result.success) return result.data as ConfigFor<K>;
  const problems = result.error.issues.map((issue): ConfigProblem => {
    const variable = String(issue.path[0] ?? 'configuration');
    const origin = Object.hasOwn(fromProfile, variable) ? ` (from ${profile.layer?.source})` : '';
    if (issue.code === 'custom') return { variable, message: issue.message + origin };
    const expected = isKnown(variable) ? ENV_VARS[variable].expected : issue.message;
    return { variable, message: `expected ${expected}; ${describeValue(variable, input)}${origin}` };
  });
  throw new ConfigError(problems);
}
