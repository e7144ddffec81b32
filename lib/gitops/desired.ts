// The desired state of one environment, read from a folder: `flywheel.yaml` plus its models folder
// (each model's base spec with the environment's patch merged in), or, without flywheel.yaml, plain
// model spec files that all run `active`. docs/gitops.md documents the layout.
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { LifecycleDesiredState } from '../contracts/model-lifecycle.ts';
import { modelSpecFromDocument, type ModelSpec } from '../model-spec/model-spec.ts';
import { firstLine, readSpecFile } from '../spec-file.ts';
import { loadGitopsManifest, MANIFEST_FILE, type GitopsManifest } from './manifest.ts';
import { mergePatch } from './merge.ts';

export interface DesiredModel {
  name: string;
  state: LifecycleDesiredState;
  spec: ModelSpec;
  /** The base spec file (and the patch, when the environment has one). */
  specSource: string;
}

export interface DesiredState {
  env: string;
  /** Retire running lifecycles the environment does not list. */
  prune: boolean;
  /** From flywheel.yaml (the whole environment); false for plain spec files, which say nothing of
   * the other lifecycles in the namespace. */
  complete: boolean;
  models: DesiredModel[];
}

export class DesiredStateError extends Error {
  override readonly name = 'DesiredStateError';
}

const SPEC_EXTENSIONS = ['.yaml', '.yml', '.json'];

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function modelFile(dir: string, name: string): Promise<string | undefined> {
  for (const ext of SPEC_EXTENSIONS) if (await exists(join(dir, name + ext))) return join(dir, name + ext);
  return undefined;
}

async function readModel(file: string, patch: Record<string, unknown>, where: string): Promise<ModelSpec> {
  const raw = await readSpecFile(file).catch((err: unknown) => {
    throw new DesiredStateError(`${file}: cannot read: ${firstLine(err)}`);
  });
  const merged = Object.keys(patch).length ? mergePatch(raw, patch) : raw;
  try {
    return await modelSpecFromDocument(merged, file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DesiredStateError(Object.keys(patch).length ? `${message}\n  (with the patch of ${where})` : message);
  }
}

/** The manifest's view of one environment; every model's problem is reported, not only the first. */
export async function desiredFromManifest(dir: string, manifest: GitopsManifest, env: string): Promise<DesiredState> {
  const e = manifest.environments[env];
  if (!e)
    throw new DesiredStateError(
      `${join(dir, MANIFEST_FILE)}: no environment "${env}" (it has ${Object.keys(manifest.environments).join(', ')})`,
    );
  const modelsDir = join(dir, manifest.models);
  const problems: string[] = [];
  const models: DesiredModel[] = [];
  for (const [name, m] of Object.entries(e.models)) {
    const where = `${join(dir, MANIFEST_FILE)}: environments.${env}.models.${name}`;
    const file = await modelFile(modelsDir, name);
    if (!file) {
      problems.push(`${where}: no spec ${join(modelsDir, name)}.yaml (or .yml, .json)`);
      continue;
    }
    try {
      const spec = await readModel(file, m.patch, where);
      if (spec.name !== name) problems.push(`${file}: name: "${spec.name}", but ${MANIFEST_FILE} lists it as "${name}"`);
      else models.push({ name, state: m.state, spec, specSource: file });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length) throw new DesiredStateError(problems.join('\n'));
  return { env, prune: e.prune, models, complete: true };
}

async function plainSpecs(path: string, isDir: boolean, env: string): Promise<DesiredState> {
  const files = isDir
    ? (await readdir(path))
        .filter((f) => SPEC_EXTENSIONS.some((ext) => f.endsWith(ext)))
        .sort()
        .map((f) => join(path, f))
    : [path];
  if (files.length === 0) throw new DesiredStateError(`${path}: no ${MANIFEST_FILE} and no model spec (.yaml, .yml, .json)`);
  const problems: string[] = [];
  const models: DesiredModel[] = [];
  for (const file of files) {
    try {
      const spec = await readModel(file, {}, basename(file));
      const twin = models.find((m) => m.name === spec.name);
      if (twin) problems.push(`${file}: name: "${spec.name}" is also the name in ${twin.specSource}`);
      else models.push({ name: spec.name, state: 'active', spec, specSource: file });
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length) throw new DesiredStateError(problems.join('\n'));
  return { env, prune: false, models, complete: false };
}

export interface LoadDesiredOptions {
  /** The environment in flywheel.yaml; without one, the manifest's only environment. */
  env?: string;
  /** The environment plain spec files (no flywheel.yaml) are reported under. @default 'default' */
  defaultEnv?: string;
}

/** Whether `path` is (or is a folder holding) a flywheel.yaml. */
export async function manifestDir(path: string): Promise<string | undefined> {
  if (basename(path) === MANIFEST_FILE) return join(path, '..');
  const info = await stat(path).catch(() => undefined);
  if (info?.isDirectory() && (await exists(join(path, MANIFEST_FILE)))) return path;
  return undefined;
}

/** The desired state at `path`: a folder with flywheel.yaml, its flywheel.yaml, or spec file(s). */
export async function loadDesiredState(path: string, options: LoadDesiredOptions = {}): Promise<DesiredState> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DesiredStateError(`${path}: no such file or folder`);
  const dir = await manifestDir(path);
  if (dir === undefined) {
    if (options.env !== undefined && options.defaultEnv !== undefined && options.env !== options.defaultEnv)
      throw new DesiredStateError(`${path}: --env ${options.env} needs a ${MANIFEST_FILE} naming the environment`);
    return plainSpecs(path, info.isDirectory(), options.env ?? options.defaultEnv ?? 'default');
  }
  const manifest = await loadGitopsManifest(dir);
  const envs = Object.keys(manifest.environments);
  const env = options.env ?? (envs.length === 1 ? envs[0]! : undefined);
  if (env === undefined)
    throw new DesiredStateError(`${join(dir, MANIFEST_FILE)} has several environments (${envs.join(', ')}): pass --env <name>`);
  return desiredFromManifest(dir, manifest, env);
}
