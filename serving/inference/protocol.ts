// Messages between the inference pool (main thread) and its ONNX Runtime threads.
import type { OnnxProvider } from '../../lib/onnx/providers.ts';

export interface ThreadSessionOptions {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  allowSpinning: boolean;
  /** The providers selected at start-up (FLYWHEEL_ONNX_PROVIDERS); undefined: cpu. */
  executionProviders?: readonly OnnxProvider[];
}

export type ToThread =
  | { type: 'load'; seq: number; id: string; model: Uint8Array; warmupRows: number }
  | { type: 'run'; seq: number; id: string; x: Float32Array; rows: number }
  | { type: 'unload'; seq: number; id: string };

export type FromThread =
  | { type: 'loaded'; seq: number; inputDim: number; outputDim: number }
  | { type: 'result'; seq: number; y: Float32Array }
  | { type: 'unloaded'; seq: number }
  | { type: 'error'; seq: number; message: string; name: string };
