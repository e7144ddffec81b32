import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { createLogger } from '../../lib/log.ts';

describe('createLogger', () => {
  it('redacts secret-looking fields and Secret values', async () => {
    const out = new PassThrough();
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const logger = createLogger({ destination: out });
    const config = loadConfig('worker', { DATABASE_URL: 'postgres://u:pw-123@h/d', TEMPORAL_API_KEY: 'api-456' });
    logger.info({ config, password: 'pw-789', nested: { apiKey: 'api-000' } }, 'starting');
    await new Promise((r) => setImmediate(r));
    const line = chunks.join('');
    expect(line).toContain('starting');
    for (const secret of ['pw-123', 'api-456', 'pw-789', 'api-000']) expect(line).not.toContain(secret);
  });
});
