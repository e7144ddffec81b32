// The protocol's wire format: the environment variables a command receives and the JSON lines
// it prints on stdout. Pure functions, so the rules are tested without a process.
import type { TrainerDoneEvent, TrainerMetrics, TrainerProgressEvent } from './types.ts';

export const TRAINER_ENV = {
  /** Prefix of one variable per input: `FLYWHEEL_INPUT_TRAIN`, `FLYWHEEL_INPUT_FEATURE_SPEC`. */
  inputPrefix: 'FLYWHEEL_INPUT_',
  hyperparameters: 'FLYWHEEL_HYPERPARAMETERS',
  checkpointDir: 'FLYWHEEL_CHECKPOINT_DIR',
  outputDir: 'FLYWHEEL_OUTPUT_DIR',
  resumeDir: 'FLYWHEEL_RESUME_DIR',
} as const;

/** `featureSpec` → `FEATURE_SPEC`, `train-2` → `TRAIN_2`. */
export function upperSnake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
}

/** The environment variable of each input; throws on names that are empty or collide. */
export function inputEnvNames(names: readonly string[]): Map<string, string> {
  const byVar = new Map<string, string>();
  const out = new Map<string, string>();
  for (const name of names) {
    const suffix = upperSnake(name);
    if (!suffix) throw new TypeError(`input name ${JSON.stringify(name)} has no letters or digits`);
    const envName = `${TRAINER_ENV.inputPrefix}${suffix}`;
    const other = byVar.get(envName);
    if (other !== undefined) throw new TypeError(`inputs ${JSON.stringify(other)} and ${JSON.stringify(name)} both map to ${envName}`);
    byVar.set(envName, name);
    out.set(name, envName);
  }
  return out;
}

/** What the command asks for when it prints a checkpoint line. */
export interface CheckpointRequest {
  type: 'checkpoint';
  step: number;
  epoch?: number;
  metrics: TrainerMetrics;
  /** Subfolder of FLYWHEEL_CHECKPOINT_DIR holding the finished checkpoint. */
  dir: string;
}

export type ParsedLine =
  | { kind: 'log' }
  | { kind: 'event'; event: TrainerProgressEvent | TrainerDoneEvent | CheckpointRequest }
  /** An event line with the right type but unusable fields: a bug in the command. */
  | { kind: 'invalid'; reason: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function metricsOf(value: unknown): TrainerMetrics {
  const out: TrainerMetrics = {};
  if (!isRecord(value)) return out;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'number') out[k] = v;
  return out;
}

/** A relative path inside the checkpoint folder: no absolute paths, `..`, or empty segments. */
export function isSafeRelativeDir(dir: string): boolean {
  if (dir === '' || dir.startsWith('/') || dir.includes('\\') || dir.includes('\0')) return false;
  return dir.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Reads one stdout line. JSON objects with a known `type` are events; everything else is a log. */
export function parseLine(line: string): ParsedLine {
  const text = line.trim();
  if (!text.startsWith('{')) return { kind: 'log' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'log' };
  }
  if (!isRecord(value)) return { kind: 'log' };
  const epoch = finite(value.epoch);
  const step = finite(value.step);
  const metrics = metricsOf(value.metrics);
  switch (value.type) {
    case 'progress':
      return {
        kind: 'event',
        event: { type: 'progress', ...(epoch !== undefined ? { epoch } : {}), ...(step !== undefined ? { step } : {}), metrics },
      };
    case 'done':
      return { kind: 'event', event: { type: 'done', metrics } };
    case 'checkpoint': {
      if (step === undefined || !Number.isSafeInteger(step) || step < 0) {
        return { kind: 'invalid', reason: `checkpoint event needs "step", a non-negative integer: ${text}` };
      }
      if (typeof value.dir !== 'string' || !isSafeRelativeDir(value.dir)) {
        return { kind: 'invalid', reason: `checkpoint event needs "dir", a relative folder inside FLYWHEEL_CHECKPOINT_DIR: ${text}` };
      }
      return { kind: 'event', event: { type: 'checkpoint', step, ...(epoch !== undefined ? { epoch } : {}), metrics, dir: value.dir } };
    }
    default:
      return { kind: 'log' };
  }
}
