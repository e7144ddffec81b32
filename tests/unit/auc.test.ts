import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../lib/evaluation/auc.ts';

describe('rocAuc', () => {
  it('matches hand-computed values', () => {
    // Positives at 0.8, 0.4; negatives at 0.6, 0.2: pairs (0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2) → 3/4.
    expect(rocAuc([0.8, 0.6, 0.4, 0.2], [1, 0, 1, 0])).toBe(0.75);
    expect(rocAuc([0.9, 0.8, 0.1], [1, 1, 0])).toBe(1);
    expect(rocAuc([0.1, 0.8, 0.9], [1, 0, 0])).toBe(0);
    // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
    expect(rocAuc([0.5, 0.5, 0.1], [1, 0, 0])).toBe(0.75);
  });

  it('refuses a single-class label set', () => {
    expect(() => rocAuc([0.1, 0.2], [1, 1])).toThrow('both positive and negative');
  });
});
