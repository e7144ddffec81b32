// The bad-data suite against the real S3-compatible store.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { describeDataValidationContract } from '../contract/data-validation.contract.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);

describeDataValidationContract('S3 (versitygw)', async () => ({
  store: S3ArtifactStore.create(`s3://${infra.s3Bucket}/data-validation-${randomUUID().slice(0, 8)}`, {
    endpoint: infra.s3Endpoint,
    forcePathStyle: true,
  }),
  tmpDir: await mkdtemp(join(tmpdir(), 'flywheel-dv-s3-')),
  prefix: 'test',
}));
