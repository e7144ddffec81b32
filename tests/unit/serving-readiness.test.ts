// Readiness names only what stops predictions: a served model without a loaded champion. Open
// breakers (database, registry, store) are reported by /readyz but are no reason to be unready.
import { describe, expect, it } from 'vitest';
import type { ServingContext } from '../../serving/http/context.ts';
import { notReadyReasons } from '../../serving/http/routes/ops.ts';

function context(loaded: string[], expected: string[], problems: Record<string, string> = {}, draining = false): ServingContext {
  const models = {
    expected: () => expected,
    get: (name: string) => (loaded.includes(name) ? { name } : undefined),
    problems: new Map(Object.entries(problems)),
  };
  return {
    models,
    modelsReady: () => expected.length > 0 && expected.every((n) => loaded.includes(n)),
    draining: () => draining,
  } as unknown as ServingContext;
}

describe('notReadyReasons', () => {
  it('is empty when every expected model has a champion loaded, whatever failed on the last refresh', () => {
    expect(notReadyReasons(context(['flights'], ['flights'], { flights: 'the model registry is unavailable' }))).toEqual([]);
  });

  it('names each model without a loaded champion, with why', () => {
    expect(notReadyReasons(context(['a'], ['a', 'b'], { b: 'model "b" has no alias "champion"' }))).toEqual([
      'b: no champion loaded (model "b" has no alias "champion")',
    ]);
  });

  it('says so when there is nothing to serve yet', () => {
    expect(notReadyReasons(context([], []))).toEqual(['no model to serve yet: none has a champion']);
  });

  it('says "draining" once a stop has begun, with models loaded', () => {
    expect(notReadyReasons(context(['flights'], ['flights'], {}, true))).toEqual(['draining']);
  });
});
