// The artifact-store contract against a real S3-compatible server (versitygw from infra/scripts).
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { describeArtifactStoreContract } from '../contract/artifact-store.contract.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const client = new S3Client({ region: 'us-east-1', endpoint: infra.s3Endpoint, forcePathStyle: true });
afterAll(() => client.destroy());

describeArtifactStoreContract('S3 (versitygw)', async () => {
  const prefix = `contract/${randomUUID()}`;
  const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/${prefix}`, { client });
  return {
    store,
    // New bytes under the old checksum metadata: what a torn or tampered object looks like.
    corrupt: async (key, bytes) => {
      const Key = `${prefix}/${key}`;
      const head = await client.send(new HeadObjectCommand({ Bucket: infra.s3Bucket, Key }));
      await client.send(new PutObjectCommand({ Bucket: infra.s3Bucket, Key, Body: bytes, Metadata: head.Metadata ?? {} }));
    },
  };
});

// putOnce relies on the server refusing a conditional PutObject on an existing key; a server that
// ignored `If-None-Match` would leave only the HEAD check, and two racing writers could both win.
describe('versitygw and If-None-Match', () => {
  it('refuses a PutObject with If-None-Match: * on an existing key (412)', async () => {
    const Key = `conditional/${randomUUID()}`;
    await client.send(new PutObjectCommand({ Bucket: infra.s3Bucket, Key, Body: 'first', IfNoneMatch: '*' }));
    const second = client.send(new PutObjectCommand({ Bucket: infra.s3Bucket, Key, Body: 'second', IfNoneMatch: '*' }));
    await expect(second).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    const got = await client.send(new GetObjectCommand({ Bucket: infra.s3Bucket, Key }));
    expect(await got.Body!.transformToString()).toBe('first');
  });

  // versitygw 1.7.0 checked the condition before staging the body and published after it, so two
  // racing creates both won in about a third of the rounds (versity/versitygw#2288, fixed in 1.8.0).
  it('lets exactly one of six racing If-None-Match: * creates win, round after round', async () => {
    for (let round = 0; round < 15; round++) {
      const Key = `conditional/race-${randomUUID()}`;
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          client.send(new PutObjectCommand({ Bucket: infra.s3Bucket, Key, Body: Buffer.alloc(64 * 1024, i), IfNoneMatch: '*' })),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won, `round ${round}`).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(r.reason).toMatchObject({ $metadata: { httpStatusCode: 412 } });
      }
    }
  });
});
