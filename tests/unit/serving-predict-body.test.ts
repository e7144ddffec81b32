// The predict route's hand-checked common body agrees with its zod schema: whatever it accepts,
// the schema accepts with the same value; whatever it passes on (undefined), the schema decides.
import { describe, expect, it } from 'vitest';
import { commonPredictBody, predictBodySchema } from '../../serving/http/schemas.ts';

const MAX = 3;
const schema = predictBodySchema(MAX);
const flight = { date: '2001-03-04T13:45:00', distance: 512, origin: 'SFO', destination: 'LAX' };

const accepted: unknown[] = [
  { instances: [flight] },
  { instances: [flight, flight, flight], routingKey: 'user-1' },
  { instances: [{ a: null, b: true, c: [1, null, 2.5], d: '' }] },
  { instances: [{}] },
];
const passedOn: unknown[] = [
  null,
  [],
  'x',
  {},
  { instances: [] },
  { instances: [flight, flight, flight, flight] },
  { instances: [flight], routingKey: '' },
  { instances: [flight], routingKey: 'k'.repeat(257) },
  { instances: [flight], routingKey: 'a\u0000b' },
  { instances: [flight], routingKey: 7 },
  { instances: [flight], layer: 'realtime' },
  { instances: [flight], extra: 1 },
  { instances: [null] },
  { instances: [[1]] },
  { instances: [{ a: { nested: 1 } }] },
  { instances: [{ a: 'x'.repeat(4097) }] },
  { instances: [{ a: '\ud800' }] },
  { instances: [{ '': 1 }] },
  { instances: [{ ['n'.repeat(129)]: 1 }] },
  { instances: [{ a: [1, 'x'] }] },
  { instances: [Object.fromEntries(Array.from({ length: 513 }, (_, i) => [`f${i}`, i]))] },
];

describe('commonPredictBody', () => {
  it.each(accepted.map((b) => [JSON.stringify(b).slice(0, 60), b]))('accepts %s as the schema does', (_label, body) => {
    const parsed = schema.safeParse(body);
    expect(parsed.success).toBe(true);
    expect(commonPredictBody(body, MAX)).toEqual(parsed.data);
  });

  it.each(passedOn.map((b) => [JSON.stringify(b)?.slice(0, 60) ?? String(b), b]))('leaves %s to the schema', (_label, body) => {
    expect(commonPredictBody(body, MAX)).toBeUndefined();
  });

  it('leaves nothing the schema refuses to pass', () => {
    for (const body of passedOn) {
      const fast = commonPredictBody(body, MAX);
      if (!schema.safeParse(body).success) expect(fast).toBeUndefined();
    }
  });
});
