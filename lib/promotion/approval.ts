// Which approval a promotion needs in its target environment. Read from the desired state, not
// from a running lifecycle: flywheel.yaml's base model spec (`<models>/<name>.yaml|.yml|.json`)
// with the target environment's patch merged on, so the answer is what git says the environment
// requires even while its lifecycle is stopped or not yet applied. No spec for the model at all:
// manual (an unknown environment's approval is never skipped); the spec's own defaults otherwise.
// Only the `approval` section is read and checked here; the lifecycle validates the whole spec.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitopsManifest } from '../gitops/manifest.ts';
import { durationMs } from '../model-spec/duration.ts';
import { modelSpecSchema } from '../model-spec/model-spec.ts';
import { readSpecFile } from '../spec-file.ts';
import { formatZodIssues } from '../zod-issues.ts';
import type { PromotionApproval } from '../contracts/promotion.ts';
import { PromotionError, PROMOTION_FAILURES } from './errors.ts';

/** When no spec names the model: wait a day for a person, then reject. */
export const UNSPECIFIED_APPROVAL: PromotionApproval = { mode: 'manual', timeoutMs: 24 * 3_600_000, default: 'reject' };

const APPROVAL = modelSpecSchema.in.shape.approval;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects merge key by key; arrays and scalars replace (the manifest's patch rule). */
export function mergePatch(base: unknown, patch: unknown): unknown {
  if (!isObject(base) || !isObject(patch)) return patch;
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = mergePatch(base[k], v);
  return out;
}

async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths)
    if (
      await access(p).then(
        () => true,
        () => false,
      )
    )
      return p;
  return undefined;
}

export async function promotionApproval(dir: string, manifest: GitopsManifest, env: string, model: string): Promise<PromotionApproval> {
  const folder = join(dir, manifest.models);
  const path = await firstExisting(['.yaml', '.yml', '.json'].map((ext) => join(folder, `${model}${ext}`)));
  if (!path) return UNSPECIFIED_APPROVAL;
  const patch = manifest.environments[env]?.models[model]?.patch ?? {};
  let document: unknown;
  try {
    document = mergePatch(await readSpecFile(path), patch);
  } catch (err) {
    throw new PromotionError(PROMOTION_FAILURES.invalid, `${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Only the approval section: the rest of the spec (paths to feature specs…) is the lifecycle's.
  const parsed = APPROVAL.safeParse(isObject(document) ? document.approval : undefined);
  if (!parsed.success)
    throw new PromotionError(
      PROMOTION_FAILURES.invalid,
      `${path} (+ environments.${env}.models.${model}.patch): approval: ${formatZodIssues(parsed.error.issues)}`,
    );
  return { mode: parsed.data.mode, timeoutMs: durationMs(parsed.data.timeout), default: parsed.data.default };
}
