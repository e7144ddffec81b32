// The dynamic batcher: no added wait when idle, merging under load, bounded queue with shedding,
// per-request timeouts, and results routed back to the right caller.
import { describe, expect, it } from 'vitest';
import { BatchGroup, DynamicBatcher } from '../../serving/batcher.ts';
import { ServingError } from '../../serving/errors.ts';

/** A model that doubles the first feature, with a controllable finish. */
function fakeModel(dim: number) {
  const calls: number[] = [];
  const releases: Array<() => void> = [];
  const run = (x: Float32Array, rows: number) => {
    calls.push(rows);
    return new Promise<Float32Array>((resolve) => {
      releases.push(() => resolve(Float32Array.from({ length: rows }, (_, r) => x[r * dim]! * 2)));
    });
  };
  const releaseAll = () => releases.splice(0).forEach((r) => r());
  return { calls, run, releaseAll };
}

const row = (v: number, dim = 3) => Float32Array.from({ length: dim }, (_, i) => (i === 0 ? v : 0));

describe('DynamicBatcher', () => {
  it('runs a lone request at once, without waiting for a batch to fill', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 1000 });
    const p = b.submit(row(5), 1);
    expect(m.calls).toEqual([1]); // dispatched synchronously, not after maxDelayMs
    m.releaseAll();
    expect(Array.from(await p)).toEqual([10]);
    b.close();
  });

  it('merges requests that arrive while runs are in flight, up to maxBatchSize, and answers each caller', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 4, maxDelayMs: 1000, concurrency: 1 });
    const first = b.submit(row(1), 1);
    const rest = Array.from({ length: 9 }, (_, i) => b.submit(row(i + 2), 1));
    expect(m.calls).toEqual([1]);
    m.releaseAll();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(m.calls).toEqual([1, 4]);
    m.releaseAll();
    await new Promise((r) => setImmediate(r));
    m.releaseAll();
    await new Promise((r) => setImmediate(r));
    m.releaseAll();
    const values = await Promise.all(rest);
    expect(values.map((v) => v[0])).toEqual([4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(m.calls).toEqual([1, 4, 4, 1]);
    b.close();
  });

  it('dispatches a partial batch after maxDelayMs when a run is in flight and a slot is free', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 20, concurrency: 2 });
    void b.submit(row(1), 1);
    const second = b.submit(row(2), 1);
    expect(m.calls).toEqual([1]); // busy and the batch is not full: wait
    await new Promise((r) => setTimeout(r, 60));
    expect(m.calls).toEqual([1, 1]);
    m.releaseAll();
    expect((await second)[0]).toBe(4);
    b.close();
  });

  it('with maxBatchSize 1 runs one request per call (batching off)', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 1, concurrency: 1 });
    const ps = [1, 2, 3].map((v) => b.submit(row(v), 1));
    for (let i = 0; i < 3; i++) {
      m.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    expect((await Promise.all(ps)).map((v) => v[0])).toEqual([2, 4, 6]);
    expect(m.calls).toEqual([1, 1, 1]);
    b.close();
  });

  it('sheds with 503 and a Retry-After hint when the queue is full, instead of queueing without bound', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 2, maxQueueRows: 4, concurrency: 1 });
    void b.submit(row(1), 1); // running
    const queued = [b.submit(row(1), 1), b.submit(row(1), 1), b.submit(row(1), 1), b.submit(row(1), 1)];
    const shed = await b.submit(row(1), 1).catch((e: unknown) => e);
    expect(shed).toBeInstanceOf(ServingError);
    expect((shed as ServingError).status).toBe(503);
    expect((shed as ServingError).retryAfterS).toBeGreaterThanOrEqual(1);
    expect(b.queueRows).toBe(4);
    for (let i = 0; i < 4; i++) {
      m.releaseAll();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(queued);
    b.close();
  });

  it('fails a request that waited longer than timeoutMs with 504, and never runs it', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { maxBatchSize: 8, timeoutMs: 30, concurrency: 1 });
    const running = b.submit(row(1), 1);
    const waiting = b.submit(row(2), 1).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 80));
    const err = await waiting;
    expect(err).toBeInstanceOf(ServingError);
    expect((err as ServingError).status).toBe(504);
    m.releaseAll();
    await running;
    await new Promise((r) => setImmediate(r));
    expect(m.calls).toEqual([1]);
    b.close();
  });

  it('rejects every request of a failed run with the error, and keeps serving', async () => {
    let fail = true;
    const b = new DynamicBatcher((_x, rows) => (fail ? Promise.reject(new Error('boom')) : Promise.resolve(new Float32Array(rows))), 3, 1, {
      concurrency: 1,
    });
    await expect(b.submit(row(1), 1)).rejects.toThrow('boom');
    fail = false;
    await expect(b.submit(row(1), 1)).resolves.toHaveLength(1);
    b.close();
  });

  it('drain() waits for queued and running work', async () => {
    const m = fakeModel(3);
    const b = new DynamicBatcher(m.run, 3, 1, { concurrency: 1 });
    void b.submit(row(1), 1);
    void b.submit(row(2), 1);
    let drained = false;
    const d = b.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained).toBe(false);
    m.releaseAll();
    await new Promise((r) => setImmediate(r));
    m.releaseAll();
    await d;
    expect(drained).toBe(true);
    b.close();
  });

  it('in a group (a champion and its canary on one pool), a request waits while another member runs, and goes as soon as the group is idle', async () => {
    const champion = fakeModel(3);
    const canary = fakeModel(3);
    const group = new BatchGroup();
    const a = new DynamicBatcher(champion.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 1000, group });
    const b = new DynamicBatcher(canary.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 1000, group });
    const first = a.submit(row(1), 1);
    expect(champion.calls).toEqual([1]);
    // The champion's run is in flight: canary rows collect instead of going out one by one.
    const c1 = b.submit(row(2), 1);
    const c2 = b.submit(row(3), 1);
    expect(canary.calls).toEqual([]);
    champion.releaseAll();
    await first;
    expect(canary.calls).toEqual([2]); // the group went idle: both canary rows in one run
    canary.releaseAll();
    expect([(await c1)[0], (await c2)[0]]).toEqual([4, 6]);
    // Without a group (the default), the canary's lone request goes at once as before.
    const solo = new DynamicBatcher(canary.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 1000 });
    const busy = a.submit(row(1), 1);
    void solo.submit(row(4), 1);
    expect(canary.calls).toEqual([2, 1]);
    champion.releaseAll();
    canary.releaseAll();
    await busy;
    a.close();
    b.close();
    solo.close();
  });

  it('in a group, a waiting member still goes after maxDelayMs while another member stays busy', async () => {
    const champion = fakeModel(3);
    const canary = fakeModel(3);
    const group = new BatchGroup();
    const a = new DynamicBatcher(champion.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 20, group });
    const b = new DynamicBatcher(canary.run, 3, 1, { maxBatchSize: 32, maxDelayMs: 20, group });
    void a.submit(row(1), 1);
    const c = b.submit(row(2), 1);
    expect(canary.calls).toEqual([]);
    await new Promise((r) => setTimeout(r, 40));
    expect(canary.calls).toEqual([1]);
    canary.releaseAll();
    expect((await c)[0]).toBe(4);
    champion.releaseAll();
    a.close();
    b.close();
  });

  it('refuses input whose length does not match rows × dim', async () => {
    const b = new DynamicBatcher(() => Promise.resolve(new Float32Array(1)), 3, 1);
    await expect(b.submit(new Float32Array(4), 1)).rejects.toThrow('expected 3 values for 1 rows, got 4');
    b.close();
  });
});
