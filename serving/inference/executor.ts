// What runs a loaded model: the ONNX Runtime thread pool in production; bench:serving swaps in a
// no-op executor (tests/fixtures/noop-executor.ts) to measure the server's own ceiling.

export interface LoadedModelInfo {
  inputDim: number;
  outputDim: number;
}

export interface Executor {
  /** Loads (and warms up) a model under `id` on every thread. */
  load(id: string, model: Uint8Array, options?: { warmupRows?: number }): Promise<LoadedModelInfo>;
  /** Scores `rows` row-major rows; returns `rows × outputDim` values. */
  run(id: string, x: Float32Array, rows: number): Promise<Float32Array>;
  unload(id: string): Promise<void>;
  close(): Promise<void>;
}
