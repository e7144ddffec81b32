import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveTemporalExecutable } from '../../lib/temporal/dev-server.ts';

async function fakeCli(): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-cli-'));
  const path = join(dir, 'temporal');
  await writeFile(path, '#!/bin/sh\n');
  await chmod(path, 0o755);
  return { dir, path };
}

describe('resolveTemporalExecutable', () => {
  it('prefers TEMPORAL_CLI_PATH', async () => {
    const { path } = await fakeCli();
    expect(resolveTemporalExecutable(path, '')).toEqual({ type: 'existing-path', path, source: 'TEMPORAL_CLI_PATH' });
  });

  it('rejects a TEMPORAL_CLI_PATH that is not executable', () => {
    expect(() => resolveTemporalExecutable('/nonexistent/temporal', '')).toThrow('TEMPORAL_CLI_PATH=/nonexistent/temporal');
  });

  it('finds `temporal` on PATH', async () => {
    const { dir, path } = await fakeCli();
    expect(resolveTemporalExecutable(undefined, `/nonexistent:${dir}`)).toEqual({ type: 'existing-path', path, source: 'PATH' });
  });

  it('falls back to the provisioned .tools copy, else a download, when PATH has none', () => {
    const tools = fileURLToPath(new URL('../../.tools/bin/temporal', import.meta.url));
    const expected = existsSync(tools) ? { type: 'existing-path', path: tools, source: '.tools' } : { type: 'cached-download', source: 'download' };
    expect(resolveTemporalExecutable(undefined, '/nonexistent')).toEqual(expected);
  });
});
