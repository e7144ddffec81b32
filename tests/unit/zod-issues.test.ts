import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseValidationSpec } from '../../lib/data/validation/spec.ts';
import { parseModelSpec } from '../../lib/model-spec/model-spec.ts';
import { formatZodIssues } from '../../lib/zod-issues.ts';

describe('formatZodIssues', () => {
  it('writes one indented line per issue, named by its dotted path', () => {
    const r = z.strictObject({ a: z.strictObject({ b: z.number() }), c: z.string() }).safeParse({ a: { b: 'x' }, c: 1 });
    expect(formatZodIssues(r.error!.issues)).toBe(
      '  a.b: Invalid input: expected number, received string\n  c: Invalid input: expected string, received number',
    );
  });

  it('names the value as a whole (root)', () => {
    expect(formatZodIssues(z.object({}).safeParse(3).error!.issues)).toBe('  (root): Invalid input: expected object, received number');
  });

  it('is how both spec parsers word their errors', () => {
    expect(() => parseModelSpec(3)).toThrow('model spec is invalid:\n  (root): Invalid input: expected object, received number');
    expect(() => parseValidationSpec(3)).toThrow('invalid validation spec:\n  (root): Invalid input: expected object, received number');
  });
});
