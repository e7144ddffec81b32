// diffSpecs: what `updateSpec` and `flywheel pipeline diff` report between two specs.
import { describe, expect, it } from 'vitest';
import { diffSpecs, formatSpecChanges, touches } from '../../lib/lifecycle/spec-diff.ts';

describe('diffSpecs', () => {
  it('lists changed, added and removed leaves by dotted path, array items by index, in key order', () => {
    const from = { name: 'm', retrain: { cooldown: '0s', onDrift: true }, rollout: { steps: [{ weight: 10 }, { weight: 50 }] } };
    const to = { name: 'm', retrain: { cooldown: '1h', onDrift: true, schedule: '@every 6h' }, rollout: { steps: [{ weight: 20 }] } };
    const changes = diffSpecs(from, to);
    expect(changes).toEqual([
      { path: 'retrain.cooldown', from: '0s', to: '1h' },
      { path: 'retrain.schedule', to: '@every 6h' },
      { path: 'rollout.steps.0.weight', from: 10, to: 20 },
      { path: 'rollout.steps.1', from: { weight: 50 } },
    ]);
    expect(touches(changes, 'retrain')).toBe(true);
    expect(touches(changes, 'monitor')).toBe(false);
    expect(formatSpecChanges(changes).split('\n')[1]).toBe('retrain.schedule: (unset) → "@every 6h"');
  });

  it('is empty for equal specs and names the root when the values are not objects', () => {
    expect(diffSpecs({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    expect(diffSpecs('x', 5)).toEqual([{ path: '(root)', from: 'x', to: 5 }]);
  });
});
