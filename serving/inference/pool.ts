// The ONNX Runtime thread pool: every model is loaded on every thread, and each run goes to the
// thread with the least work in flight. Input buffers are transferred, not copied.
import { Worker } from 'node:worker_threads';
import type { Executor, LoadedModelInfo } from './executor.ts';
import type { FromThread, ThreadSessionOptions, ToThread } from './protocol.ts';
import type { OnnxProvider } from '../../lib/onnx/providers.ts';

export interface InferencePoolOptions {
  /** ONNX Runtime threads, each with its own sessions. @default 1 */
  threads?: number;
  /** Threads one operator may use inside a session. @default 1 */
  intraOpNumThreads?: number;
  /** @default 1 */
  interOpNumThreads?: number;
  /** Busy-waiting ORT threads starve everything else on a small machine. @default false */
  allowSpinning?: boolean;
  /** Execution providers, already selected (selectOnnxProviders). @default ['cpu'] */
  executionProviders?: readonly OnnxProvider[];
}

export class InferenceError extends Error {
  override readonly name = 'InferenceError';
}

/** Omit over each member of a union (plain Omit would merge them). */
type WithoutSeq<T> = T extends unknown ? Omit<T, 'seq'> : never;

interface Pending {
  resolve: (message: FromThread) => void;
  reject: (err: Error) => void;
}

class InferenceThread {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  inFlight = 0;
  private dead: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (message: FromThread) => {
      const p = this.pending.get(message.seq);
      if (!p) return;
      this.pending.delete(message.seq);
      this.inFlight--;
      if (message.type === 'error') p.reject(new InferenceError(message.message));
      else p.resolve(message);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new InferenceError(`inference thread exited with code ${code}`)));
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.inFlight = 0;
  }

  request(message: WithoutSeq<ToThread>, transfer: ArrayBuffer[] = []): Promise<FromThread> {
    if (this.dead) return Promise.reject(this.dead);
    const seq = ++this.seq;
    return new Promise<FromThread>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.inFlight++;
      this.worker.postMessage({ ...message, seq }, transfer);
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

const THREAD_URL = new URL('./thread-entry.mjs', import.meta.url);

export class InferencePool implements Executor {
  private constructor(private readonly threads: InferenceThread[]) {}

  static create(options: InferencePoolOptions = {}): InferencePool {
    const count = options.threads ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`threads must be a positive integer, got ${count}`);
    const workerData: ThreadSessionOptions = {
      intraOpNumThreads: options.intraOpNumThreads ?? 1,
      interOpNumThreads: options.interOpNumThreads ?? 1,
      allowSpinning: options.allowSpinning ?? false,
      ...(options.executionProviders ? { executionProviders: options.executionProviders } : {}),
    };
    return new InferencePool(Array.from({ length: count }, () => new InferenceThread(new Worker(THREAD_URL, { workerData }))));
  }

  get size(): number {
    return this.threads.length;
  }

  async load(id: string, model: Uint8Array, options: { warmupRows?: number } = {}): Promise<LoadedModelInfo> {
    const replies = await Promise.all(
      this.threads.map((t) => t.request({ type: 'load', id, model, warmupRows: options.warmupRows ?? 32 })),
    );
    const first = replies[0];
    if (first?.type !== 'loaded') throw new InferenceError(`loading ${id} returned ${first?.type}`);
    return { inputDim: first.inputDim, outputDim: first.outputDim };
  }

  async run(id: string, x: Float32Array, rows: number): Promise<Float32Array> {
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.inFlight < thread.inFlight) thread = t;
    const reply = await thread.request({ type: 'run', id, x, rows }, [x.buffer as ArrayBuffer]);
    if (reply.type !== 'result') throw new InferenceError(`run of ${id} returned ${reply.type}`);
    return reply.y;
  }

  async unload(id: string): Promise<void> {
    await Promise.all(this.threads.map((t) => t.request({ type: 'unload', id })));
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
