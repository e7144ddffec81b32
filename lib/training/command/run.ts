// runCommandTrainer: prepares a private work folder (inputs, checkpoint, output and resume
// folders), runs the command under the protocol, and uploads what it produced.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertValidKey } from '../../storage/keys.ts';
import { restoreCheckpoint } from './checkpoint-dirs.ts';
import { commandEnvironment } from './environment.ts';
import { checkCommand } from './preflight.ts';
import { TrainerProtocolError } from './errors.ts';
import { downloadInput, listLocalFiles, uploadFile } from './files.ts';
import { inputEnvNames, TRAINER_ENV } from './protocol.ts';
import { superviseCommand } from './supervise.ts';
import type { CommandTrainerOptions, CommandTrainerResult } from './types.ts';

export async function runCommandTrainer(options: CommandTrainerOptions): Promise<CommandTrainerResult> {
  const { store, runKey, signal } = options;
  if (options.command.length === 0 || !options.command[0]) throw new TypeError('command must name a program');
  assertValidKey(runKey);
  const envNames = inputEnvNames(Object.keys(options.inputs));
  signal?.throwIfAborted();
  const log = options.logger.child({ runKey });
  const work = await mkdtemp(join(options.tempRoot ?? tmpdir(), 'flywheel-trainer-'));
  try {
    const dirs = {
      inputs: join(work, 'inputs'),
      checkpoint: join(work, 'checkpoint'),
      output: join(work, 'output'),
      resume: join(work, 'resume'),
    };
    await Promise.all([dirs.inputs, dirs.checkpoint, dirs.output].map((d) => mkdir(d)));

    const env: NodeJS.ProcessEnv = {
      // Python block-buffers a piped stdout, which would hold events back; commands may override.
      PYTHONUNBUFFERED: '1',
      ...commandEnvironment(process.env, {
        ...(options.passEnv ? { pass: options.passEnv } : {}),
        ...(options.env ? { set: options.env } : {}),
        ...(options.pathPrefix ? { pathPrefix: options.pathPrefix } : {}),
      }),
      [TRAINER_ENV.hyperparameters]: JSON.stringify(options.hyperparameters ?? {}),
      [TRAINER_ENV.checkpointDir]: dirs.checkpoint,
      [TRAINER_ENV.outputDir]: dirs.output,
    };
    delete env[TRAINER_ENV.resumeDir]; // set below only when resuming, whatever the caller passed
    await checkCommand(options.command[0], options.cwd ?? process.cwd(), env);
    for (const [name, uri] of Object.entries(options.inputs)) {
      const envName = envNames.get(name)!;
      // The folder is named after the variable, not the caller's string, so it stays inside `inputs`.
      const folder = join(dirs.inputs, envName.slice(TRAINER_ENV.inputPrefix.length).toLowerCase());
      env[envName] = await downloadInput(store, uri, folder, signal);
    }
    if (options.resumeFrom) {
      const manifest = await restoreCheckpoint(store, options.resumeFrom, dirs.resume, signal);
      env[TRAINER_ENV.resumeDir] = dirs.resume;
      log.info({ resumeFrom: options.resumeFrom, step: manifest.step }, 'restored checkpoint');
    }
    signal?.throwIfAborted();

    const run = await superviseCommand({
      command: options.command,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env,
      checkpointDir: dirs.checkpoint,
      store,
      runKey,
      ...(signal ? { signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      killGraceMs: options.killGraceMs ?? 10_000,
      stderrTailLines: options.stderrTailLines ?? 50,
      maxEventsKept: options.maxEventsKept ?? 10_000,
      logger: log,
    });

    const outputFiles = await uploadOutput(options, dirs.output);
    log.info({ outputUri: store.uriFor(`${runKey}/output`), files: outputFiles.length }, 'training output stored');
    return {
      outputUri: store.uriFor(`${runKey}/output`),
      outputFiles,
      metrics: run.done.metrics,
      lastCheckpointUri: run.lastCheckpointUri,
      events: run.events,
    };
  } catch (err) {
    // Aborted store calls fail with their own AbortError; callers expect the reason they gave.
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Uploads FLYWHEEL_OUTPUT_DIR to `<runKey>/output/`, then removes objects a failed earlier
 * attempt left there that this output does not have. */
async function uploadOutput(options: CommandTrainerOptions, dir: string): Promise<string[]> {
  const { store, runKey, signal } = options;
  const paths = await listLocalFiles(dir);
  if (paths.length === 0) throw new TrainerProtocolError('the command printed done but wrote no files to FLYWHEEL_OUTPUT_DIR');
  const prefix = `${runKey}/output/`;
  const keys = new Set(paths.map((p) => `${prefix}${p}`));
  const uris: string[] = [];
  for (const path of paths) {
    uris.push((await uploadFile(store, `${prefix}${path}`, join(dir, ...path.split('/')), signal)).uri);
  }
  for await (const info of store.list(prefix)) if (!keys.has(info.key)) await store.delete(info.key);
  return uris;
}
