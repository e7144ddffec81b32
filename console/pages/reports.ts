// `/artifacts?uri=…`: a report or file of a LOCAL artifact store, served to the browser so nobody
// opens a file:// path. Only URIs inside the store are served (store.keyFor refuses the rest and
// any `..`); HTML reports get a `sandbox` CSP so a report's markup cannot act as the console.
// S3 stores never come here: artifactLink hands out presigned URLs instead.
import type { FastifyInstance } from 'fastify';
import { ArtifactNotFoundError } from '../../lib/storage/index.ts';
import type { ConsoleContext } from '../context.ts';
import { contentTypeOf } from '../presign.ts';

export function registerReportRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  app.get<{ Querystring: { uri?: string } }>('/artifacts', async (req, reply) => {
    const uri = req.query.uri;
    if (!uri) return reply.code(400).send({ error: 'uri is required: /artifacts?uri=file:///…' });
    if (!ctx.store.baseUri.startsWith('file://'))
      return reply.code(404).send({ error: 'this console serves artifacts of a local store only; S3 artifacts open by presigned link' });
    let key: string;
    try {
      key = ctx.store.keyFor(uri);
    } catch {
      return reply.code(403).send({ error: 'not an artifact of this console’s store' });
    }
    // Decoded once more: `%2e%2e` must not slip past the key check as a literal.
    if (key.split('/').some((part) => part === '..' || part === '.' || part === '') || decodeURIComponent(key).includes('..'))
      return reply.code(403).send({ error: 'not an artifact of this console’s store' });
    try {
      const body = await ctx.store.getStream(key);
      const type = contentTypeOf(key);
      void reply.type(type).header('cache-control', 'private, max-age=60');
      if (type.startsWith('text/html') || type.startsWith('image/svg'))
        void reply.header('content-security-policy', "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      if (type === 'application/octet-stream')
        void reply.header(
          'content-disposition',
          `attachment; filename="${key
            .split('/')
            .pop()!
            .replace(/[^\w.-]/g, '_')}"`,
        );
      return reply.send(body);
    } catch (err) {
      if (err instanceof ArtifactNotFoundError) return reply.code(404).send({ error: `no such artifact: ${uri}` });
      throw err;
    }
  });
}
