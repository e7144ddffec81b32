// Runs the command and turns its stdout into events: progress is passed on at once, checkpoints
// are stored one after another (in the order announced) and reported once stored. Stopping sends
// SIGTERM to the whole process group, then SIGKILL after the grace period.
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../log.ts';
import type { ArtifactStore } from '../../storage/types.ts';
import { storeCheckpoint } from './checkpoint-dirs.ts';
import { TrainerExitError, TrainerProtocolError } from './errors.ts';
import { lineTail, signalGroup, spawnInGroup, started } from './process.ts';
import { parseLine, type CheckpointRequest } from './protocol.ts';
import type { TrainerDoneEvent, TrainerEvent } from './types.ts';

/** After the command exits, how long its pipes may stay open (held by an escaped grandchild). */
const PIPE_DRAIN_TIMEOUT_MS = 2000;

export interface SuperviseOptions {
  command: string[];
  cwd?: string;
  env: NodeJS.ProcessEnv;
  /** FLYWHEEL_CHECKPOINT_DIR: checkpoint events name subfolders of it. */
  checkpointDir: string;
  store: ArtifactStore;
  runKey: string;
  signal?: AbortSignal;
  onEvent?: (event: TrainerEvent) => void;
  killGraceMs: number;
  stderrTailLines: number;
  maxEventsKept: number;
  logger: Logger;
}

export interface SupervisedRun {
  done: TrainerDoneEvent;
  lastCheckpointUri: string | undefined;
  events: TrainerEvent[];
}

export async function superviseCommand(o: SuperviseOptions): Promise<SupervisedRun> {
  const log = o.logger;
  const label = o.command.join(' ');
  const stderrTail = lineTail(o.stderrTailLines);
  const events: TrainerEvent[] = [];
  let done: TrainerDoneEvent | undefined;
  let lastCheckpointUri: string | undefined;
  let failure: { error: unknown } | undefined;
  let stopping = false;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const uploads = new AbortController();
  let queue: Promise<void> = Promise.resolve();

  const child = spawnInGroup(o.command, { ...(o.cwd ? { cwd: o.cwd } : {}), env: o.env });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  await started(child);
  if (child.pid === undefined || !child.stdout || !child.stderr) throw new Error(`could not start ${label}`);
  const pid: number = child.pid; // also the process group id: the command leads its own group
  log.info({ pid, command: o.command }, 'training command started');

  function emit(event: TrainerEvent): void {
    events.push(event);
    if (events.length > o.maxEventsKept) events.shift();
    try {
      o.onEvent?.(event);
    } catch (err) {
      log.warn({ err }, 'onEvent listener threw');
    }
  }

  /** First reason wins. `grace`: let checkpoints announced before the command exits still land
   * (a command may save one last checkpoint on SIGTERM). */
  function stop(error: unknown, grace: boolean): void {
    failure ??= { error };
    if (!grace || exited) uploads.abort(error);
    if (stopping) return;
    stopping = true;
    if (exited) return;
    log.info({ pid, killGraceMs: o.killGraceMs }, 'stopping training command: SIGTERM to its process group');
    signalGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => {
      if (!exited) {
        log.warn({ pid }, `training command still running ${o.killGraceMs} ms after SIGTERM: SIGKILL`);
        signalGroup(pid, 'SIGKILL');
      }
      uploads.abort(error);
    }, o.killGraceMs);
  }

  function enqueue(task: () => Promise<void>): void {
    queue = queue.then(async () => {
      if (uploads.signal.aborted) return;
      try {
        await task();
      } catch (err) {
        if (!uploads.signal.aborted) stop(err, false);
      }
    });
  }

  function onCheckpoint(request: CheckpointRequest): void {
    const localDir = join(o.checkpointDir, ...request.dir.split('/'));
    enqueue(async () => {
      if (!(await stat(localDir).catch(() => undefined))?.isDirectory()) {
        throw new TrainerProtocolError(`checkpoint event names "${request.dir}", which is not a folder in FLYWHEEL_CHECKPOINT_DIR`);
      }
      const { step, epoch, metrics } = request;
      const stored = await storeCheckpoint(
        o.store,
        o.runKey,
        { step, ...(epoch !== undefined ? { epoch } : {}), metrics, localDir },
        uploads.signal,
      );
      lastCheckpointUri = stored.uri;
      log.info({ checkpointUri: stored.uri, step }, 'checkpoint stored');
      emit({ type: 'checkpoint', step, ...(epoch !== undefined ? { epoch } : {}), metrics, checkpointUri: stored.uri });
    });
  }

  const onAbort = () => stop(o.signal?.reason, true);
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (o.signal?.aborted) onAbort();
    const stdout = createInterface({ input: child.stdout, crlfDelay: Infinity });
    const stderr = createInterface({ input: child.stderr, crlfDelay: Infinity });
    const pipesClosed = Promise.all([once(stdout, 'close'), once(stderr, 'close')]);
    stdout.on('line', (line) => {
      const parsed = parseLine(line);
      if (parsed.kind === 'log') return log.debug({ stream: 'stdout', line }, 'trainer');
      if (parsed.kind === 'invalid') return stop(new TrainerProtocolError(parsed.reason), false);
      const event = parsed.event;
      log.debug({ event }, 'trainer event');
      if (event.type === 'progress') emit(event);
      else if (event.type === 'checkpoint') onCheckpoint(event);
      else {
        enqueue(async () => {
          done = event;
          emit(event);
        });
      }
    });
    stderr.on('line', (line) => {
      stderrTail.push(line);
      log.debug({ stream: 'stderr', line }, 'trainer');
    });

    const { code, signal } = await exit;
    exited = true;
    signalGroup(pid, 'SIGKILL'); // whatever the command left running in its group
    log.info({ pid, code, signal }, 'training command exited');
    await Promise.race([pipesClosed, delay(PIPE_DRAIN_TIMEOUT_MS, undefined, { ref: false })]);
    child.stdout.destroy();
    child.stderr.destroy();
    await queue;

    if (failure) {
      const { error } = failure;
      throw error instanceof TrainerProtocolError ? new TrainerProtocolError(error.reason, stderrTail.lines()) : error;
    }
    if (code !== 0) throw new TrainerExitError(label, code, signal, stderrTail.lines());
    if (!done) throw new TrainerProtocolError('the command exited with code 0 without printing a done event', stderrTail.lines());
    return { done, lastCheckpointUri, events };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    clearTimeout(killTimer);
    if (!exited) signalGroup(pid, 'SIGKILL');
  }
}
