// Checks a command can start before anything is downloaded, so a typo in a spec's `command` or
// `workingDir`, or a worker without the trainers' Python, fails at once with what to fix — not
// as five retried `spawn ENOENT`s that name neither the folder nor the PATH searched.
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { TrainerCommandError } from './errors.ts';

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Throws TrainerCommandError when `cwd` is not a folder or `program` cannot be run from it. */
export async function checkCommand(program: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  const folder = await stat(cwd).catch(() => undefined);
  if (!folder?.isDirectory()) throw new TrainerCommandError(`the training command's working folder ${cwd} does not exist on this worker`);
  if (program.includes('/')) {
    const path = isAbsolute(program) ? program : resolve(cwd, program);
    if (!(await executable(path)))
      throw new TrainerCommandError(`the training command ${program} is not an executable file (looked at ${path})`);
    return;
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) if (await executable(join(isAbsolute(dir) ? dir : resolve(cwd, dir), program))) return;
  throw new TrainerCommandError(
    `the training command ${program} is not on this worker's PATH (${dirs.join(delimiter) || 'empty'}); ` +
      'install it, name it by path, or point FLYWHEEL_TRAINER_PATH at the folder that holds it (e.g. .tools/trainers-venv/bin)',
  );
}
