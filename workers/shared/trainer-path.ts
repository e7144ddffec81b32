// Where a command trainer's `python3` comes from: the worker's FLYWHEEL_TRAINER_PATH, made
// absolute (the command runs in its spec's folder, where a relative PATH entry means nothing);
// for `flywheel dev`, the project's trainers venv when it was provisioned.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkerConfig } from '../../lib/config/index.ts';

/** `.tools/trainers-venv/bin` of this checkout (what `infra.sh provision trainers` builds). */
export const BUNDLED_TRAINERS_BIN = fileURLToPath(new URL('../../.tools/trainers-venv/bin', import.meta.url));

/** The configured FLYWHEEL_TRAINER_PATH with each folder made absolute, or undefined. */
export function trainerPathOf(config: WorkerConfig): string | undefined {
  return config.worker.trainerPath
    ?.split(':')
    .map((p) => resolve(p))
    .join(':');
}

/** The configured path, else the bundled venv's `bin` when it holds a python3 (dev stacks). */
export function trainerPathOrBundled(config: WorkerConfig): string | undefined {
  return trainerPathOf(config) ?? (existsSync(`${BUNDLED_TRAINERS_BIN}/python3`) ? BUNDLED_TRAINERS_BIN : undefined);
}
