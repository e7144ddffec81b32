import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PGLITE_LOCK_FILE, PGliteDatabase, PGliteLockedError, type PGliteLockHolder } from '../../lib/db/index.ts';
import { describeDatabaseContract } from '../contract/database.contract.ts';

// A fresh on-disk database per test, the way the embedded default runs.
describeDatabaseContract('PGlite', async () => PGliteDatabase.create(await mkdtemp(join(tmpdir(), 'flywheel-pglite-'))));

const root = fileURLToPath(new URL('../..', import.meta.url));
const tempDir = () => mkdtemp(join(tmpdir(), 'flywheel-pglite-lock-'));

/** A real second process that opens `dir`, says `open` and then does what `then` says. */
function openInChild(dir: string, then: 'wait' | 'exit-without-close') {
  const code = `
    import { PGliteDatabase } from './lib/db/index.ts';
    const db = await PGliteDatabase.create(${JSON.stringify(dir)});
    console.log('open');
    ${then === 'wait' ? 'setInterval(() => undefined, 1000);' : 'process.exit(0);'}
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const opened = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('open') && resolve());
    void exited.then(() => (out.includes('open') ? resolve() : reject(new Error(`child exited before opening:\n${out}`))));
  });
  return { child, opened, exited };
}

describe('PGlite: one process owns a data folder', () => {
  it('writes a lock naming this process, refuses a second open here, and releases it on close', async () => {
    const dir = await tempDir();
    const db = await PGliteDatabase.create(dir);
    const lock = JSON.parse(readFileSync(join(dir, PGLITE_LOCK_FILE), 'utf8')) as PGliteLockHolder;
    expect(lock.pid).toBe(process.pid);
    expect(lock.command).toBeTruthy();
    const second = await PGliteDatabase.create(dir).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(PGliteLockedError);
    expect((second as Error).message).toContain('in use by this process');
    await db.close();
    expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(false);
    await (await PGliteDatabase.create(dir)).close();
  }, 30_000);

  it('refuses a folder another live process holds, naming its pid and what to do; takes it over once that process is gone', async () => {
    const dir = await tempDir();
    const holder = openInChild(dir, 'wait');
    try {
      await holder.opened;
      const pid = holder.child.pid!;
      const err = await PGliteDatabase.create(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PGliteLockedError);
      expect((err as PGliteLockedError).holder.pid).toBe(pid);
      expect((err as Error).message).toContain(`in use by pid ${pid} (`);
      expect((err as Error).message).toMatch(/Stop that process first.*inference server API.*DATABASE_URL/s);

      // SIGKILL: no exit hook runs, the lock stays behind, naming a pid that no longer exists.
      holder.child.kill('SIGKILL');
      await holder.exited;
      expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(true);
      const stale: number[] = [];
      const db = await PGliteDatabase.create(dir, { onStaleLock: (h) => stale.push(h.pid) });
      expect(stale).toEqual([pid]);
      expect((JSON.parse(readFileSync(join(dir, PGLITE_LOCK_FILE), 'utf8')) as PGliteLockHolder).pid).toBe(process.pid);
      await db.close();
    } finally {
      holder.child.kill('SIGKILL');
    }
  }, 60_000);

  it('releases the lock when its process exits without closing the database', async () => {
    const dir = await tempDir();
    const child = openInChild(dir, 'exit-without-close');
    await child.opened;
    expect(await child.exited).toBe(0);
    expect(existsSync(join(dir, PGLITE_LOCK_FILE))).toBe(false);
  }, 60_000);
});
