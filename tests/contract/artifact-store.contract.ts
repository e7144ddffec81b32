// The artifact-store contract: every implementation (local folder, S3) must pass the same suite.
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import {
  ArtifactCorruptError,
  ArtifactExistsError,
  ArtifactNotFoundError,
  InvalidArtifactKeyError,
  type ArtifactStore,
} from '../../lib/storage/index.ts';
import { sha256Hex } from '../../lib/storage/keys.ts';

export interface StoreFixture {
  store: ArtifactStore;
  /** Overwrites an object's bytes behind the store's back (simulates bit rot / a torn copy). */
  corrupt(key: string, bytes: Buffer): Promise<void>;
}

async function collect(iter: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of iter) keys.push(o.key);
  return keys;
}

export function describeArtifactStoreContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`ArtifactStore contract: ${name}`, () => {
    it('round-trips a buffer with size and sha256', async () => {
      const { store } = await setup();
      const body = Buffer.from('hello, flywheel');
      const info = await store.put('a/b/hello.txt', body, { contentType: 'text/plain' });
      expect(info.size).toBe(body.length);
      expect(info.sha256).toBe(sha256Hex(body));
      expect(info.uri).toBe(store.uriFor('a/b/hello.txt'));
      expect(store.keyFor(info.uri)).toBe('a/b/hello.txt');
      expect((await store.get('a/b/hello.txt')).toString()).toBe('hello, flywheel');
      const st = await store.stat('a/b/hello.txt');
      expect(st).toMatchObject({ key: 'a/b/hello.txt', size: body.length, sha256: sha256Hex(body) });
      expect(await store.exists('a/b/hello.txt')).toBe(true);
    });

    it('round-trips a multi-megabyte stream and records its checksum', async () => {
      const { store } = await setup();
      const chunk = Buffer.alloc(256 * 1024, 7);
      const chunks = Array.from({ length: 24 }, (_, i) => Buffer.concat([chunk, Buffer.from(String(i))]));
      const whole = Buffer.concat(chunks);
      const info = await store.putStream('big/blob.bin', Readable.from(chunks));
      expect(info.size).toBe(whole.length);
      expect(info.sha256).toBe(sha256Hex(whole));
      expect((await store.stat('big/blob.bin'))?.sha256).toBe(sha256Hex(whole));
      const back = await store.get('big/blob.bin', { verify: true });
      expect(back.equals(whole)).toBe(true);
      const streamed = await buffer(await store.getStream('big/blob.bin', { verify: true }));
      expect(streamed.equals(whole)).toBe(true);
    });

    it('overwrites atomically: a reader sees the old or the new object, never a mix', async () => {
      const { store } = await setup();
      const a = Buffer.alloc(2 * 1024 * 1024, 'a');
      const b = Buffer.alloc(2 * 1024 * 1024, 'b');
      await store.put('atomic/obj', a);
      const writes = Array.from({ length: 4 }, (_, i) => store.put('atomic/obj', i % 2 ? a : b));
      const reads = Array.from({ length: 8 }, () => store.get('atomic/obj'));
      const seen = await Promise.all(reads);
      await Promise.all(writes);
      for (const data of seen) expect(data.equals(a) || data.equals(b)).toBe(true);
    });

    it('a failed streamed write leaves no object and keeps the previous one', async () => {
      const { store } = await setup();
      await store.put('partial/obj', 'previous');
      async function* failing() {
        yield Buffer.alloc(64 * 1024, 1);
        throw new Error('source died mid-write');
      }
      await expect(store.putStream('partial/obj', failing())).rejects.toThrow('source died mid-write');
      await expect(store.putStream('partial/new', failing())).rejects.toThrow('source died mid-write');
      expect((await store.get('partial/obj')).toString()).toBe('previous');
      expect(await store.exists('partial/new')).toBe(false);
      expect(await collect(store.list('partial/'))).toEqual(['partial/obj']);
    });

    it('lists by prefix, recursively, in key order, without internal objects', async () => {
      const { store } = await setup();
      for (const key of ['ls/x/2.txt', 'ls/x/1.txt', 'ls/y.txt', 'ls/x/deep/3.txt', 'lsother/z.txt']) {
        await store.put(key, key);
      }
      expect(await collect(store.list('ls/'))).toEqual(['ls/x/1.txt', 'ls/x/2.txt', 'ls/x/deep/3.txt', 'ls/y.txt']);
      expect(await collect(store.list('ls/x/'))).toEqual(['ls/x/1.txt', 'ls/x/2.txt', 'ls/x/deep/3.txt']);
      expect(await collect(store.list('ls'))).toContain('lsother/z.txt');
      expect(await collect(store.list('nothing-here/'))).toEqual([]);
    });

    it('deletes idempotently', async () => {
      const { store } = await setup();
      await store.put('del/me', 'x');
      await store.delete('del/me');
      await store.delete('del/me');
      expect(await store.exists('del/me')).toBe(false);
      expect(await store.stat('del/me')).toBeUndefined();
    });

    it('raises ArtifactNotFoundError with the URI for a missing object', async () => {
      const { store } = await setup();
      await expect(store.get('missing/thing')).rejects.toThrow(ArtifactNotFoundError);
      await expect(store.get('missing/thing')).rejects.toThrow(store.uriFor('missing/thing'));
      await expect(store.getStream('missing/thing')).rejects.toThrow(ArtifactNotFoundError);
    });

    it('detects corruption against the recorded checksum when asked to verify', async () => {
      const { store, corrupt } = await setup();
      const info = await store.put('corrupt/model.bin', Buffer.alloc(1000, 1));
      await corrupt('corrupt/model.bin', Buffer.alloc(1000, 2));
      await expect(store.get('corrupt/model.bin', { verify: true })).rejects.toThrow(ArtifactCorruptError);
      const stream = await store.getStream('corrupt/model.bin', { verify: true });
      await expect(text(stream)).rejects.toThrow(ArtifactCorruptError);
      // Unverified reads still work: callers choose.
      expect((await store.get('corrupt/model.bin')).length).toBe(info.size);
    });

    it('putOnce writes a free key, accepts the same bytes again and refuses other bytes (write-once)', async () => {
      const { store } = await setup();
      const first = Buffer.from('model v1');
      const info = await store.putOnce('once/model.onnx', first, { contentType: 'application/onnx' });
      expect(info).toMatchObject({ key: 'once/model.onnx', size: first.length, sha256: sha256Hex(first) });
      // An activity's retry writes the same bytes: success, nothing changes.
      const again = await store.putOnce('once/model.onnx', Buffer.from('model v1'));
      expect(again.sha256).toBe(sha256Hex(first));
      const refused = store.putOnce('once/model.onnx', Buffer.from('model v2'));
      await expect(refused).rejects.toThrow(ArtifactExistsError);
      await expect(refused).rejects.toThrow(/once\/model\.onnx/);
      expect((await store.get('once/model.onnx', { verify: true })).toString()).toBe('model v1');
      // An object written by a plain put is protected the same way.
      await store.put('once/plain.onnx', 'a');
      await expect(store.putOnce('once/plain.onnx', 'b')).rejects.toThrow(ArtifactExistsError);
      expect(await store.putOnce('once/plain.onnx', 'a')).toMatchObject({ sha256: sha256Hex('a') });
    });

    it('putOnce lets the owner of an object replace it (a retried attempt of the same run), nobody else', async () => {
      const { store } = await setup();
      await store.putOnce('once/owned.onnx', 'attempt 1', { owner: 'run-a' });
      expect(await store.stat('once/owned.onnx')).toMatchObject({ owner: 'run-a' });
      // Another run writing the same bytes succeeds and takes nothing over.
      await store.putOnce('once/owned.onnx', 'attempt 1', { owner: 'run-b' });
      expect(await store.stat('once/owned.onnx')).toMatchObject({ owner: 'run-a' });
      await expect(store.putOnce('once/owned.onnx', 'other run', { owner: 'run-b' })).rejects.toThrow(ArtifactExistsError);
      await expect(store.putOnce('once/owned.onnx', 'no owner')).rejects.toThrow(ArtifactExistsError);
      const replaced = await store.putOnce('once/owned.onnx', 'attempt 2', { owner: 'run-a' });
      expect(replaced.sha256).toBe(sha256Hex('attempt 2'));
      expect((await store.get('once/owned.onnx', { verify: true })).toString()).toBe('attempt 2');
      expect((await store.stat('once/owned.onnx'))?.owner).toBe('run-a');
    });

    it('putOnce lets exactly one of two racing writers with different bytes win', async () => {
      const { store } = await setup();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) => store.putOnce('once/race.bin', Buffer.alloc(64 * 1024, i))),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ArtifactExistsError);
      const stored = await store.get('once/race.bin', { verify: true });
      expect((won[0] as PromiseFulfilledResult<{ sha256?: string }>).value.sha256).toBe(sha256Hex(stored));
    });

    it('rejects keys that could escape the store or collide with its internals', async () => {
      const { store } = await setup();
      for (const key of ['', '/abs', 'a/../b', 'a//b', 'trailing/', '.flywheel-tmp/x', 'back\\slash']) {
        await expect(store.put(key, 'x'), key).rejects.toThrow(InvalidArtifactKeyError);
      }
      expect(() => store.keyFor('s3://elsewhere/x')).toThrow(InvalidArtifactKeyError);
    });
  });
}
