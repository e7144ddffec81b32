// Drift methods are listed once (lib/data/drift/options.ts); the spec schema and defaults follow.
import { describe, expect, it } from 'vitest';
import { DRIFT_DEFAULTS, DRIFT_METHODS, METHODS_BY_KIND } from '../../lib/data/drift/options.ts';
import { parseModelSpec } from '../../lib/model-spec/model-spec.ts';

const validation = { dataset: 'flights', columns: { date: { type: 'timestamp' } } };
const features = { features: [{ name: 'x', kind: 'numeric' }] };
const withDrift = (drift: unknown) => () =>
  parseModelSpec({ name: 'm', data: { dataset: 'd', label: 'y', validation }, features, monitor: { drift } });

describe('drift methods', () => {
  it('have a default threshold each, and numeric features can use every one', () => {
    expect(Object.keys(DRIFT_DEFAULTS.thresholds).sort()).toEqual([...DRIFT_METHODS].sort());
    expect(METHODS_BY_KIND.numeric).toEqual(DRIFT_METHODS);
  });

  it('are what the model spec accepts, named in the same order', () => {
    for (const m of DRIFT_METHODS) expect(withDrift({ numericMethod: m, thresholds: { [m]: 0.2 } })).not.toThrow();
    expect(withDrift({ numericMethod: 'chi2' })).toThrow(
      'monitor.drift.numericMethod: Invalid option: expected one of "wasserstein"|"ks"|"psi"|"jensen_shannon"|"hellinger"',
    );
    expect(withDrift({ thresholds: { chi2: 0.1 } })).toThrow('monitor.drift.thresholds: Unrecognized key: "chi2"');
  });

  it('offer categorical features only the histogram distances', () => {
    for (const m of METHODS_BY_KIND.categorical) expect(withDrift({ categoricalMethod: m })).not.toThrow();
    expect(withDrift({ categoricalMethod: 'ks' })).toThrow('expected one of "jensen_shannon"|"hellinger"|"psi"');
  });
});
