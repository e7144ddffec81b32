// Browser-openable links to S3 artifacts: presigned GET URLs, so a report opens without the
// console proxying its bytes and without the user holding store credentials.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { parseS3Uri, s3ClientFor, type S3StoreOptions } from '../lib/storage/index.ts';

/** Content types by extension, for the stored reports (text/html is served sandboxed). */
export const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  onnx: 'application/octet-stream',
  parquet: 'application/octet-stream',
};

export function contentTypeOf(key: string): string {
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

export type PresignGet = (uri: string, ttlS?: number) => Promise<string>;

/** One S3 client for every link this process signs. @default ttlS 900 */
export function createPresigner(options: S3StoreOptions): PresignGet {
  const client = s3ClientFor(options);
  return async function presignGet(uri: string, ttlS = 900): Promise<string> {
    const { bucket, prefix } = parseS3Uri(uri);
    const command = new GetObjectCommand({ Bucket: bucket, Key: prefix, ResponseContentType: contentTypeOf(prefix) });
    return getSignedUrl(client, command, { expiresIn: ttlS });
  };
}
