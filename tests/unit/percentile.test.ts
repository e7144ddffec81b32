import { describe, expect, it } from 'vitest';
import { percentile } from '../../lib/percentile.ts';

describe('percentile (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

  it('returns an observed value, never an interpolated one', () => {
    expect(percentile(ten, 0.5)).toBe(5);
    expect(percentile(ten, 0.55)).toBe(6);
    expect(percentile(ten, 0.99)).toBe(10);
    expect(percentile([1, 2], 0.5)).toBe(1);
  });

  it('clamps to the ends', () => {
    expect(percentile(ten, 0)).toBe(1);
    expect(percentile(ten, 1)).toBe(10);
    expect(percentile(ten, 2)).toBe(10);
  });

  it('reads typed arrays and has no value for an empty sample', () => {
    expect(percentile(Float64Array.from([0.5, 1.5, 2.5]), 0.99)).toBe(2.5);
    expect(percentile([], 0.5)).toBeUndefined();
  });

  it('p99 of 1000 samples is the 990th smallest', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.99)).toBe(990);
  });
});
