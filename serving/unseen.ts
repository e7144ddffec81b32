// Counts the values of a request that land in a vocabulary's unseen bucket, per feature: a rising
// count is new categories in traffic (a new airport, a new city) that the model encodes as
// "other" until it is retrained. Hashed features have no unseen bucket and are not counted.
import type { FeatureBatch } from '../lib/features/tabular/encode.ts';
import type { ModelIO } from '../lib/features/tabular/model-io.ts';
import { sourceColumn } from '../lib/features/tabular/spec.ts';

export interface UnseenCount {
  feature: string;
  count: number;
}

/** Counts unseen-bucket hits of a batch (null, or a value outside the fitted vocabulary). */
export type CountUnseen = (batch: FeatureBatch) => UnseenCount[];

/** Builds the counter once per version: one Set lookup per vocabulary feature and row. */
export function createUnseenCounter(io: ModelIO): CountUnseen {
  const vocabularies: { feature: string; column: string; known: ReadonlySet<string> }[] = [];
  io.fitted.spec.features.forEach((def, i) => {
    const state = io.fitted.state[i];
    if (def.kind !== 'categorical' || def.hash || state?.kind !== 'categorical') return;
    vocabularies.push({ feature: def.name, column: sourceColumn(def), known: new Set(state.vocabulary ?? []) });
  });
  return function countUnseen(batch) {
    const out: UnseenCount[] = [];
    for (const { feature, column, known } of vocabularies) {
      const values = batch.columns[column] as ArrayLike<string | null> | undefined;
      if (!values) continue;
      let count = 0;
      for (let r = 0; r < batch.rows; r++) {
        const v = values[r];
        if (v === null || v === undefined || !known.has(v)) count++;
      }
      if (count > 0) out.push({ feature, count });
    }
    return out;
  };
}
