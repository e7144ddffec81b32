import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('falls back to .tools or a download when PATH has none', () => {
    const resolved = resolveTemporalExecutable(undefined, '/nonexistent');
    expect(['.tools', 'download']).toContain(resolved.source);
  });
});
