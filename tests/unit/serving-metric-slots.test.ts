// Metric slots (serving/metric-slots.ts): what /metrics shows is exactly what prom-client's own
// Histogram and Counter would show for the same observations.
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterSlots, SlotHistogram } from '../../serving/metric-slots.ts';

const config = {
  name: 'x_latency_seconds',
  help: 'Latency.',
  labelNames: ['model', 'version'] as const,
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
};

describe('metric slots', () => {
  it('a slot histogram is written exactly as a prom-client histogram', async () => {
    const a = new Registry();
    const b = new Registry();
    const reference = new Histogram({ ...config, registers: [a] });
    const slots = new SlotHistogram({ ...config, registers: [b] });
    const values = [0, 0.0005, 0.0007, 0.003, 0.02, 0.021, 3, 99, 1e-9, 0.25];
    const labelSets = [
      { model: 'm', version: '1' },
      { model: 'n"\\\n', version: '2' },
    ];
    const bound = labelSets.map((l) => slots.slot(l));
    values.forEach((v, i) => {
      reference.observe(labelSets[i % 2]!, v);
      bound[i % 2]!.observe(v);
    });
    slots.observe(labelSets[0]!, 0.004);
    reference.observe(labelSets[0]!, 0.004);
    expect(await b.metrics()).toBe(await a.metrics());
    expect(() => bound[0]!.observe(Number.NaN)).toThrow(TypeError);
  });

  it('counter slots add what they hold to the counter when it is scraped, and only label sets that counted appear', async () => {
    const registry = new Registry();
    const pending = new CounterSlots(['route', 'status'] as const);
    const counter = new Counter({
      name: 'x_requests_total',
      help: 'Requests.',
      labelNames: ['route', 'status'] as const,
      registers: [registry],
      collect() {
        pending.flushInto(this);
      },
    });
    const ok = pending.slot({ route: '/a', status: '200' });
    pending.slot({ route: '/a', status: '500' }); // bound, never counted
    ok.inc();
    ok.inc(4);
    expect(pending.slot({ route: '/a', status: '200' })).toBe(ok);
    counter.inc({ route: '/b', status: '200' }); // direct increments still work alongside
    const text = await registry.metrics();
    expect(text).toContain('x_requests_total{route="/a",status="200"} 5');
    expect(text).toContain('x_requests_total{route="/b",status="200"} 1');
    expect(text).not.toContain('status="500"');
    ok.inc();
    expect(await registry.metrics()).toContain('x_requests_total{route="/a",status="200"} 6');
  });
});
