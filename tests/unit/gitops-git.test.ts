// The reconciler's git access (activities/gitops/git.ts) on a real repository made here: a bare
// mirror, a fetch that sees a new commit, one checkout per commit, a missing ref refused.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkoutRef, GitSourceError } from '../../activities/gitops/git.ts';

const run = promisify(execFile);
const who = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' };

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env: { ...process.env, ...who } })).stdout.trim();
}

describe('checkoutRef', () => {
  it('clones once, fetches new commits, checks each commit out into its own folder, refuses a missing ref', async () => {
    const repo = await mkdtemp(join(tmpdir(), 'gitops-git-repo-'));
    const cache = await mkdtemp(join(tmpdir(), 'gitops-git-cache-'));
    await git(repo, 'init', '-q', '-b', 'main');
    await writeFile(join(repo, 'flywheel.yaml'), 'one\n');
    await git(repo, 'add', '-A');
    await git(repo, 'commit', '-q', '-m', 'one');
    const first = await checkoutRef(cache, `file://${repo}`, 'main');
    expect(first.commit).toBe(await git(repo, 'rev-parse', 'HEAD'));
    expect(await readFile(join(first.dir, 'flywheel.yaml'), 'utf8')).toBe('one\n');

    await writeFile(join(repo, 'flywheel.yaml'), 'two\n');
    await git(repo, 'commit', '-q', '-am', 'two');
    await git(repo, 'tag', 'v2');
    const second = await checkoutRef(cache, `file://${repo}`, 'main');
    expect(second.commit).not.toBe(first.commit);
    expect(await readFile(join(second.dir, 'flywheel.yaml'), 'utf8')).toBe('two\n');
    expect(await readFile(join(first.dir, 'flywheel.yaml'), 'utf8')).toBe('one\n');
    expect((await checkoutRef(cache, `file://${repo}`, 'v2')).commit).toBe(second.commit);
    expect((await checkoutRef(cache, `file://${repo}`, first.commit)).dir).toBe(first.dir);

    await expect(checkoutRef(cache, `file://${repo}`, 'nope')).rejects.toThrow(GitSourceError);
    await expect(checkoutRef(cache, `file://${repo}`, '--upload-pack=x')).rejects.toThrow(/not a git ref/);
    await expect(checkoutRef(cache, `file://${repo}-missing`, 'main')).rejects.toThrow(/git clone/);
  });

  it('says plainly when the worker has no git binary (a permanent failure, not three retries)', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'gitops-git-cache-'));
    const path = process.env.PATH;
    process.env.PATH = cache; // execFile resolves `git` on the child's PATH, taken from process.env
    try {
      const err = await checkoutRef(join(cache, 'c'), 'file:///nowhere', 'main').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(GitSourceError);
      expect((err as Error).message).toMatch(/git binary is not on this worker's PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});
