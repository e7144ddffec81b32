// What a promoted version takes along: every artifact its registry entry points at inside the
// source store (the model file, the gate report, and each tag whose value is a URI there: feature
// spec, evaluation report, variant builds), copied to the same key in the target store, and the
// entry's URIs rewritten to the copies. Pure: unit-tested without a store.
import type { ModelVersion } from '../registry/index.ts';
import { PromotionError, PROMOTION_FAILURES } from './errors.ts';

export interface ArtifactCopy {
  /** The key in both stores (the key layout is the same in every environment; the base differs). */
  key: string;
  sourceUri: string;
  targetUri: string;
  /** Which fields of the version point at it (`artifactUri`, `gateReportUri`, `tag:<name>`). */
  referencedBy: string[];
}

export interface PromotionPlan {
  copies: ArtifactCopy[];
  /** The target version's fields, with URIs pointing at the copies. */
  artifactUri: string;
  gateReportUri?: string;
  tags: Record<string, string>;
}

export interface StoreLocator {
  readonly baseUri: string;
  /** Throws for a URI outside the store. */
  keyFor(uri: string): string;
}

export interface TargetLocator {
  uriFor(key: string): string;
}

function inside(store: StoreLocator, uri: string): boolean {
  return uri.startsWith(`${store.baseUri}/`);
}

export function planPromotion(version: ModelVersion, source: StoreLocator, target: TargetLocator): PromotionPlan {
  const byKey = new Map<string, ArtifactCopy>();
  const take = (uri: string, field: string): string => {
    const key = source.keyFor(uri);
    const copy = byKey.get(key) ?? { key, sourceUri: uri, targetUri: target.uriFor(key), referencedBy: [] };
    copy.referencedBy.push(field);
    byKey.set(key, copy);
    return copy.targetUri;
  };

  // The model file is what the target serves: one outside the source store cannot be verified.
  if (!inside(source, version.artifactUri))
    throw new PromotionError(
      PROMOTION_FAILURES.invalid,
      `${version.model} v${version.version}: its model file ${version.artifactUri} is outside the source store ${source.baseUri}`,
    );
  const artifactUri = take(version.artifactUri, 'artifactUri');
  const gateReportUri =
    version.gateReportUri === undefined
      ? undefined
      : inside(source, version.gateReportUri)
        ? take(version.gateReportUri, 'gateReportUri')
        : version.gateReportUri;
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(version.tags).sort(([a], [b]) => a.localeCompare(b)))
    tags[name] = inside(source, value) ? take(value, `tag:${name}`) : value;

  return {
    copies: [...byKey.values()].sort((a, b) => a.key.localeCompare(b.key)),
    artifactUri,
    ...(gateReportUri !== undefined ? { gateReportUri } : {}),
    tags,
  };
}
