// Chooses the artifact store from configuration: `file://` → local folder, `s3://` → S3.
import type { ArtifactStoreConfig } from '../config/index.ts';
import { LocalArtifactStore } from './local-store.ts';
import { S3ArtifactStore, type S3StoreOptions } from './s3-store.ts';
import type { ArtifactStore, PutOptions } from './types.ts';

/** S3 client options from configuration, for buckets other than the store's own too. */
export function s3OptionsFrom(config: ArtifactStoreConfig): S3StoreOptions {
  return {
    region: config.s3.region,
    forcePathStyle: config.s3.forcePathStyle,
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
  };
}

export async function createArtifactStore(config: ArtifactStoreConfig): Promise<ArtifactStore> {
  if (config.uri.startsWith('file://')) return LocalArtifactStore.create(config.uri);
  if (config.uri.startsWith('s3://')) {
    return S3ArtifactStore.create(config.uri, s3OptionsFrom(config));
  }
  throw new Error(`unsupported ARTIFACT_STORE ${config.uri}: expected file:// or s3://`);
}

export async function putJson(store: ArtifactStore, key: string, value: unknown, options: PutOptions = {}) {
  return store.put(key, JSON.stringify(value, null, 2), { contentType: 'application/json', ...options });
}

export async function getJson<T>(store: ArtifactStore, key: string): Promise<T> {
  return JSON.parse((await store.get(key, { verify: true })).toString('utf8')) as T;
}

export type { ArtifactStore, ObjectInfo, PutOptions, GetOptions, Body, BodyStream } from './types.ts';
export {
  ArtifactNotFoundError,
  ArtifactCorruptError,
  ArtifactExistsError,
  ARTIFACT_EXISTS_FAILURE_TYPE,
  InvalidArtifactKeyError,
} from './errors.ts';
export { LocalArtifactStore } from './local-store.ts';
export { S3ArtifactStore, parseS3Uri, s3ClientFor, type S3StoreOptions } from './s3-store.ts';
