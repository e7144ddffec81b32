// What runs a loaded model: the ONNX Runtime thread pool in production; a no-op executor that
// returns zeros without running anything measures the server's own ceiling (bench:serving).

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

export class NoopExecutor implements Executor {
  private readonly dims = new Map<string, LoadedModelInfo>();

  constructor(private readonly read: (model: Uint8Array) => LoadedModelInfo) {}

  load(id: string, model: Uint8Array): Promise<LoadedModelInfo> {
    const info = this.read(model);
    this.dims.set(id, info);
    return Promise.resolve(info);
  }

  run(id: string, _x: Float32Array, rows: number): Promise<Float32Array> {
    const info = this.dims.get(id);
    if (!info) return Promise.reject(new Error(`model ${id} is not loaded`));
    return Promise.resolve(new Float32Array(rows * info.outputDim));
  }

  unload(id: string): Promise<void> {
    this.dims.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
