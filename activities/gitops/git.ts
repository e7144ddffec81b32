// The reconciler's view of a git remote, through the `git` binary: a bare mirror per repository
// under the worker's data folder, fetched each pass, and one read-only checkout per commit.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A problem no retry fixes (a ref that does not exist, a path outside the repository). */
export class GitSourceError extends Error {
  override readonly name = 'GitSourceError';
}

export interface GitCheckout {
  commit: string;
  dir: string;
}

/** No prompts (a worker has no terminal), C messages (stderr is quoted in errors). */
const gitEnv = () => ({ ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' });
/** Checkouts kept besides the newest (data paths in specs may point into them). */
const KEEP_CHECKOUTS = 5;

async function git(args: string[], options: { cwd?: string; signal?: AbortSignal } = {}): Promise<string> {
  try {
    const { stdout } = await run('git', args, {
      env: gitEnv(),
      maxBuffer: 16 * 1024 * 1024,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return stdout.trim();
  } catch (err) {
    // No retry installs git: say what is missing instead of "spawn git ENOENT" three times over.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && (err as { path?: string }).path === 'git')
      throw new GitSourceError("the git binary is not on this worker's PATH: the GitOps reconciler needs it (the images install it)");
    throw err;
  }
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr || e.message || String(err)).trim().split('\n').slice(-2).join(' ');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Fetches `ref` of `repo` into the mirror under `cacheDir` and checks its commit out (once). */
export async function checkoutRef(cacheDir: string, repo: string, ref: string, signal?: AbortSignal): Promise<GitCheckout> {
  if (ref.startsWith('-') || /[\s~^:?*[\\]/.test(ref)) throw new GitSourceError(`not a git ref: ${JSON.stringify(ref)}`);
  const key = createHash('sha256').update(repo).digest('hex').slice(0, 16);
  const mirror = join(cacheDir, `${key}.git`);
  await mkdir(cacheDir, { recursive: true });
  if (!(await exists(join(mirror, 'HEAD')))) {
    const tmp = `${mirror}.${process.pid}.${Date.now()}`;
    await git(['clone', '--bare', '--quiet', '--', repo, tmp], { signal }).catch((err: unknown) => {
      if (err instanceof GitSourceError) throw err;
      throw new Error(`git clone ${repo}: ${stderrOf(err)}`);
    });
    await rename(tmp, mirror).catch(async () => rm(tmp, { recursive: true, force: true }));
  } else {
    await git(['fetch', '--quiet', '--prune', '--force', '--', repo, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], {
      cwd: mirror,
      ...(signal ? { signal } : {}),
    }).catch((err: unknown) => {
      if (err instanceof GitSourceError) throw err;
      throw new Error(`git fetch ${repo}: ${stderrOf(err)}`);
    });
  }
  const commit = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: mirror }).catch(() => {
    throw new GitSourceError(`${repo} has no branch, tag or commit ${JSON.stringify(ref)}`);
  });
  const checkouts = join(cacheDir, `${key}.checkouts`);
  const dir = join(checkouts, commit);
  if (!(await exists(dir))) {
    const tmp = `${dir}.${process.pid}.tmp`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const tar = join(tmp, '..', `${commit}.${process.pid}.tar`);
    await git(['archive', '--format=tar', `--output=${tar}`, commit], { cwd: mirror });
    await run('tar', ['-xf', tar, '-C', tmp]);
    await rm(tar, { force: true });
    await rename(tmp, dir).catch(async () => rm(tmp, { recursive: true, force: true }));
  }
  await pruneCheckouts(checkouts, commit);
  return { commit, dir };
}

async function pruneCheckouts(dir: string, keep: string): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const dated = await Promise.all(
    entries.filter((e) => /^[0-9a-f]{40,64}$/.test(e) && e !== keep).map(async (e) => ({ e, t: (await stat(join(dir, e))).mtimeMs })),
  );
  dated.sort((a, b) => b.t - a.t);
  for (const { e } of dated.slice(KEEP_CHECKOUTS)) await rm(join(dir, e), { recursive: true, force: true });
}
