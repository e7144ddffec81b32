// Parses configuration once per process. Errors name each bad variable and the form expected;
// entry points turn a ConfigError into exit code 2.
import { ENV_VARS, type EnvVarName } from './vars.ts';
import { CONFIG_SCHEMAS, type ConfigFor, type ProcessKind } from './schema.ts';

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
  const result = CONFIG_SCHEMAS[kind].safeParse(withoutEmpty(env));
  if (result.success) return result.data as ConfigFor<K>;
  const problems = result.error.issues.map((issue): ConfigProblem => {
    const variable = String(issue.path[0] ?? 'configuration');
    if (issue.code === 'custom') return { variable, message: issue.message };
    const expected = isKnown(variable) ? ENV_VARS[variable].expected : issue.message;
    return { variable, message: `expected ${expected}; ${describeValue(variable, env)}` };
  });
  throw new ConfigError(problems);
}
