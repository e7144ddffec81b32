// The desired-state repository's index, `flywheel.yaml`: which environments exist, how to reach
// each (the same environment variables its processes read, secrets only as ${VAR} references),
// and which models each runs, in what state, with what per-environment patch onto the base spec
// in the models folder. docs/gitops.md documents the layout.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ENV_VARS, type EnvVarName } from '../config/vars.ts';
import { firstLine } from '../spec-file.ts';
import { formatZodIssues } from '../zod-issues.ts';

export const MANIFEST_FILE = 'flywheel.yaml';

/** Environment names double as Temporal workflow-id parts and schema names: keep them plain. */
const ENV_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A record whose keys must match `pattern`; zod's own key error says only "Invalid key in record". */
function namedRecord<T extends z.ZodType>(value: T, pattern: RegExp, what: string) {
  return z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record))
      if (!pattern.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(key)} is not ${what}` });
  });
}

const environmentModel = z.strictObject({
  /** active: runs cycles; paused: serves, starts no cycle; retired: the lifecycle ends. */
  state: z.enum(['active', 'paused', 'retired']).default('active'),
  /** Merged onto the base spec: objects merge key by key, arrays and scalars replace. */
  patch: z.record(z.string(), z.unknown()).default({}),
});

const environment = z.strictObject({
  /** Environment variables for this environment (TEMPORAL_NAMESPACE, DATABASE_URL, ARTIFACT_STORE, …). */
  settings: z.record(z.string(), z.string()).default({}),
  /** Retire running lifecycles that this environment no longer lists (default: report them only). */
  prune: z.boolean().default(false),
  /** The models this environment runs, by name (a file `<models>/<name>.yaml` or `.json` each). */
  models: namedRecord(
    environmentModel.nullable().transform((m) => m ?? environmentModel.parse({})),
    MODEL_NAME,
    'a model name (letters, digits, dot, dash, underscore; ≤ 100)',
  ).default({}),
});

export const gitopsManifestSchema = z.strictObject({
  apiVersion: z.literal('flywheel/v1', 'apiVersion must be flywheel/v1'),
  /** The folder of base model specs, relative to flywheel.yaml. */
  models: z.string().min(1).default('models'),
  environments: namedRecord(environment, ENV_NAME, 'an environment name (lowercase letters, digits and dashes; ≤ 31)').refine(
    (e) => Object.keys(e).length > 0,
    'name at least one environment',
  ),
});

export type GitopsManifest = z.output<typeof gitopsManifestSchema>;
export type EnvironmentManifest = GitopsManifest['environments'][string];
export type EnvironmentModel = EnvironmentManifest['models'][string];

export class GitopsManifestError extends Error {
  override readonly name = 'GitopsManifestError';
}

export function parseGitopsManifest(document: unknown, source: string): GitopsManifest {
  const parsed = gitopsManifestSchema.safeParse(document);
  if (!parsed.success) throw new GitopsManifestError(`${source}: ${formatZodIssues(parsed.error.issues)}`);
  for (const [env, e] of Object.entries(parsed.data.environments))
    for (const [name, value] of Object.entries(e.settings)) checkSetting(`${source}: environments.${env}.settings.${name}`, name, value);
  return parsed.data;
}

export async function loadGitopsManifest(dir: string): Promise<GitopsManifest> {
  const path = join(dir, MANIFEST_FILE);
  let document: unknown;
  try {
    document = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new GitopsManifestError(`no ${MANIFEST_FILE} in ${dir}: name the folder of your desired-state repository with -f <dir>`);
    throw new GitopsManifestError(`${path}: ${firstLine(err)}`);
  }
  return parseGitopsManifest(document, path);
}

const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function isEnvVar(name: string): name is EnvVarName {
  return Object.hasOwn(ENV_VARS, name);
}

/** Settings are variables Flywheel reads; a secret one only as a ${VAR} reference, never in git. */
function checkSetting(where: string, name: string, value: string): void {
  if (!isEnvVar(name)) throw new GitopsManifestError(`${where}: not a Flywheel setting (see the README's environment table)`);
  const spec = ENV_VARS[name] as { secret?: boolean };
  if (spec.secret && !/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(value))
    throw new GitopsManifestError(
      `${where}: a secret; write a reference such as \${PROD_${name}} and set that variable where Flywheel runs`,
    );
}

/**
 * The environment's settings with ${VAR} references read from `from` (the caller's environment);
 * an unset reference is an error naming it. The values are still checked by loadConfig.
 */
export function environmentSettings(
  manifest: GitopsManifest,
  env: string,
  from: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const e = manifest.environments[env];
  if (!e)
    throw new GitopsManifestError(`no environment "${env}" in ${MANIFEST_FILE} (it has ${Object.keys(manifest.environments).join(', ')})`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(e.settings))
    out[name] = value.replace(REFERENCE, (_, ref: string) => {
      const v = from[ref];
      if (v === undefined || v === '')
        throw new GitopsManifestError(`environments.${env}.settings.${name} reads \${${ref}}, which is not set`);
      return v;
    });
  return out;
}

/** The process environment an environment's commands run under: the caller's, then its settings. */
export function environmentEnv(
  manifest: GitopsManifest,
  env: string,
  from: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string | undefined> {
  return { ...from, ...environmentSettings(manifest, env, from) };
}
