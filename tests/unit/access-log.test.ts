// The serving access log: which requests the sampler keeps, and the line a kept request writes.
import Fastify from 'fastify';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../lib/log.ts';
import { registerAccessLog, shouldLog } from '../../serving/http/access-log.ts';

const ordinary = { status: 200, durationMs: 3 };

describe('shouldLog', () => {
  it('keeps a sampled fraction of ordinary requests', () => {
    const options = { sample: 0.25, slowMs: 1000 };
    expect(shouldLog(ordinary, { ...options, random: () => 0.2 })).toBe(true);
    expect(shouldLog(ordinary, { ...options, random: () => 0.25 })).toBe(false);
    expect(shouldLog({ status: 404, durationMs: 1 }, { ...options, random: () => 0.9 })).toBe(false);
  });

  it('always keeps server errors and slow requests', () => {
    const never = { sample: 0.01, slowMs: 500, random: () => 0.99 };
    expect(shouldLog({ status: 500, durationMs: 1 }, never)).toBe(true);
    expect(shouldLog({ status: 503, durationMs: 1 }, never)).toBe(true);
    expect(shouldLog({ status: 200, durationMs: 500 }, never)).toBe(true);
    expect(shouldLog({ status: 499, durationMs: 499 }, never)).toBe(false);
  });

  it('keeps everything at 1 and nothing at 0, not even errors', () => {
    expect(shouldLog(ordinary, { sample: 1, slowMs: 1000, random: () => 0.999 })).toBe(true);
    expect(shouldLog({ status: 500, durationMs: 5000 }, { sample: 0, slowMs: 1000, random: () => 0 })).toBe(false);
  });

  it('samples about the configured fraction with a real random source', () => {
    let kept = 0;
    for (let i = 0; i < 20_000; i++) if (shouldLog(ordinary, { sample: 0.1, slowMs: 1000 })) kept++;
    expect(kept / 20_000).toBeGreaterThan(0.08);
    expect(kept / 20_000).toBeLessThan(0.12);
  });
});

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ destination }) };
}

async function appWith(sample: number, random: () => number) {
  const { lines, logger } = capture();
  const app = Fastify({ logger: false });
  registerAccessLog(
    app,
    { logger, settings: { accessLogSample: sample, accessLogSlowMs: 1000, maxInstances: 1, bodyLimitBytes: 1 } },
    random,
  );
  app.get('/models/:name', async () => ({ ok: true }));
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  await app.ready();
  return { app, lines };
}

describe('registerAccessLog', () => {
  it('writes one structured line per kept request, without the query string', async () => {
    const { app, lines } = await appWith(1, () => 0.5);
    await app.inject({ method: 'GET', url: '/models/churn?apiKey=secret', headers: { 'user-agent': 'probe/1' } });
    // pino writes asynchronously to the stream; give it a tick.
    await new Promise((r) => setImmediate(r));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request',
      component: 'access',
      method: 'GET',
      path: '/models/churn',
      route: '/models/:name',
      status: 200,
      userAgent: 'probe/1',
      reason: 'sampled',
      sample: 1,
    });
    expect(typeof lines[0]!['durationMs']).toBe('number');
    expect(typeof lines[0]!['requestId']).toBe('string');
    expect(JSON.stringify(lines[0])).not.toContain('secret');
  });

  it('logs a 500 at warn even when sampling would drop it, and drops the sampled-out 200', async () => {
    const { app, lines } = await appWith(0.01, () => 0.5);
    await app.inject({ method: 'GET', url: '/models/churn' });
    await app.inject({ method: 'GET', url: '/boom' });
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l['path'], l['status'], l['level'], l['reason']])).toEqual([['/boom', 500, 40, 'error']]);
  });

  it('adds no hook at all when the sample is 0', async () => {
    const { app, lines } = await appWith(0, () => 0);
    await app.inject({ method: 'GET', url: '/boom' });
    await new Promise((r) => setImmediate(r));
    expect(lines).toEqual([]);
  });
});
