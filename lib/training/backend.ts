// Chooses the TF.js backend by measurement (B6, `npm run bench:training`): the native TensorFlow
// backend when `@tensorflow/tfjs-node-gpu` (or `-node`) is installed — a GPU worker image installs
// it; it is not a dependency, since its install downloads libtensorflow — else WebAssembly (SIMD,
// ~6× the pure-JS `cpu` backend here with the same losses), else `cpu`.
import * as tf from '@tensorflow/tfjs';
import type { Logger } from '../log.ts';

export const TFJS_BACKENDS = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type TfjsBackend = (typeof TFJS_BACKENDS)[number];

let chosen: string | undefined;

async function tryNative(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return true;
    } catch {
      // not installed (the default): fall through
    }
  }
  return false;
}

async function tryWasm(): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    return await tf.setBackend('wasm');
  } catch {
    return false;
  }
}

/** Sets the process-wide backend once and says which one runs. */
export async function selectBackend(preferred: TfjsBackend, logger: Logger): Promise<string> {
  if (chosen) return chosen;
  const order: TfjsBackend[] = preferred === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [preferred, 'cpu'];
  for (const b of order) {
    const ok = b === 'tensorflow' ? await tryNative() : b === 'wasm' ? await tryWasm() : await tf.setBackend('cpu');
    if (ok) {
      await tf.ready();
      chosen = tf.getBackend();
      break;
    }
    if (b !== 'cpu' && preferred !== 'auto') logger.warn({ backend: b }, `TF.js backend ${b} is not available; falling back`);
  }
  chosen ??= tf.getBackend();
  const gpu = chosen === 'tensorflow' && (await hasCuda());
  logger.info(
    { backend: chosen, gpu },
    chosen === 'tensorflow'
      ? `training on TensorFlow native (${gpu ? 'GPU' : 'CPU'})`
      : `training on TF.js ${chosen} (no GPU backend installed: CPU)`,
  );
  return chosen;
}

async function hasCuda(): Promise<boolean> {
  try {
    const { execFileSync } = await import('node:child_process');
    execFileSync('nvidia-smi', ['-L'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
