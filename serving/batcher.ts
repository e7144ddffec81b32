// The dynamic batcher (Triton's idea): concurrent requests for one model version are merged into
// one ONNX Runtime call. When nothing is running a request goes out at once (no added wait when
// idle); while runs are in flight, requests collect until a batch is full or `maxDelayMs` passes.
// The queue is bounded: past `maxQueueRows` a request is shed at once with a retry hint rather
// than waiting without bound, and a request still queued after `timeoutMs` fails.
import { activeTracer, captureContext } from '../lib/telemetry/index.ts';
import { traceQueueWaits, traceRun, type TracedRequest } from './batch-spans.ts';
import { ServingError } from './errors.ts';

export interface BatcherOptions {
  /** Rows per merged run; 1 turns batching off (one run per request). @default 32 */
  maxBatchSize?: number;
  /** Longest a partial batch waits while other runs are in flight. @default 2 */
  maxDelayMs?: number;
  /** Rows that may wait; more are shed with 503. @default 2048 */
  maxQueueRows?: number;
  /** A request not started within this fails with 504. @default 1000 */
  timeoutMs?: number;
  /** Runs in flight at once (≥ 2 per inference thread hides the thread hop). @default 2 */
  concurrency?: number;
  /** Batchers that share an inference pool (a champion and its canary): while any of them has a
   * run in flight, each waits for a fuller batch. Default: a group of its own. */
  group?: BatchGroup;
  /** Called once per run with its row count (batch-size metrics). */
  onBatch?: (rows: number) => void;
  /** Called for each request shed or timed out. */
  onShed?: (reason: 'queue_full' | 'timeout') => void;
}

export type RunBatch = (x: Float32Array, rows: number) => Promise<Float32Array>;

interface Entry extends TracedRequest {
  x: Float32Array;
  rows: number;
  deadline: number;
  resolve: (y: Float32Array) => void;
  reject: (err: Error) => void;
}

/**
 * Batchers whose runs share one inference pool (every version a server loads). "Idle → go now"
 * looks at the whole group: with a champion's run in flight a request for its 10% canary would
 * only queue behind it on the pool's thread, so instead it waits (up to maxDelayMs) for more canary
 * rows. On its own, a canary batcher is idle most of the time and sent one-row runs: at the
 * flights model's capacity the two arms made ~40% more runs than one version did (mean canary
 * batch ~1.75 rows), and every run costs the server tens of µs whatever its size.
 */
export class BatchGroup {
  /** Runs in flight across the group. */
  inFlight = 0;
  readonly members = new Set<DynamicBatcher>();

  /** A run of some member ended: when none is left in flight, members holding rows go now. */
  settled(from: DynamicBatcher): void {
    if (this.inFlight > 0) return;
    for (const m of this.members) if (m !== from) m.poke();
  }
}

export class DynamicBatcher {
  /** Waiting requests from `head` on; a head index instead of shift() keeps dequeues O(1). */
  private queue: Entry[] = [];
  private head = 0;
  private queuedRows = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private delayElapsed = false;
  private readonly sweeper: NodeJS.Timeout;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatchSize: number;
  private readonly maxDelayMs: number;
  private readonly maxQueueRows: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  /** Recent run time per row, for Retry-After hints. */
  private msPerRow = 0.05;
  private readonly group: BatchGroup;

  constructor(
    private readonly runBatch: RunBatch,
    /** Values per row (the model's input width). */
    readonly dim: number,
    /** Values per output row. */
    readonly outputDim: number,
    private readonly options: BatcherOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 32;
    this.maxDelayMs = options.maxDelayMs ?? 2;
    this.maxQueueRows = options.maxQueueRows ?? 2048;
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.concurrency = options.concurrency ?? 2;
    for (const [name, value] of Object.entries({
      maxBatchSize: this.maxBatchSize,
      maxQueueRows: this.maxQueueRows,
      concurrency: this.concurrency,
    })) {
      if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
    }
    this.group = options.group ?? new BatchGroup();
    this.group.members.add(this);
    this.sweeper = setInterval(() => this.expire(Date.now()), Math.max(10, this.timeoutMs / 4));
    this.sweeper.unref();
  }

  /** Rows waiting to run. */
  get queueRows(): number {
    return this.queuedRows;
  }

  get running(): number {
    return this.inFlight;
  }

  /** Scores `rows` rows of `x` (row-major, `rows × dim`). */
  submit(x: Float32Array, rows: number): Promise<Float32Array> {
    if (x.length !== rows * this.dim)
      return Promise.reject(new RangeError(`expected ${rows * this.dim} values for ${rows} rows, got ${x.length}`));
    if (this.queuedRows > 0 && this.queuedRows + rows > this.maxQueueRows) {
      this.options.onShed?.('queue_full');
      const waitS = Math.max(1, Math.ceil((this.queuedRows * this.msPerRow) / 1000));
      return Promise.reject(
        new ServingError('overloaded', `the model's queue is full (${this.queuedRows} rows waiting); retry later`, waitS),
      );
    }
    // Tracing on: the request's context, to record its queue wait and run under its trace.
    const trace = captureContext();
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ x, rows, deadline: Date.now() + this.timeoutMs, resolve, reject, trace, queuedAt: trace ? performance.now() : 0 });
      this.queuedRows += rows;
      this.pump();
    });
  }

  /** Resolves when nothing is queued or running (used before a version is unloaded). */
  drain(): Promise<void> {
    if (this.waiting === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.group.members.delete(this);
    clearInterval(this.sweeper);
    if (this.timer) clearTimeout(this.timer);
  }

  /** Sends what waits if the group went idle (BatchGroup.settled). */
  poke(): void {
    if (this.waiting > 0) this.pump();
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.waiting > 0) {
      // Idle → go now; busy (this batcher or another of its group) → go with a full batch, or a
      // partial one once maxDelayMs passed.
      if (this.group.inFlight > 0 && this.queuedRows < this.maxBatchSize && !this.delayElapsed) {
        this.timer ??= setTimeout(() => {
          this.timer = undefined;
          this.delayElapsed = true;
          this.pump();
        }, this.maxDelayMs);
        return;
      }
      this.delayElapsed = false;
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = undefined;
      }
      this.dispatch();
    }
  }

  private dispatch(): void {
    const now = Date.now();
    this.expire(now);
    if (this.waiting === 0) return;
    const batch: Entry[] = [];
    let rows = 0;
    // Always take one request, even one larger than a batch; then fill up to maxBatchSize.
    while (this.waiting > 0 && (batch.length === 0 || rows + this.queue[this.head]!.rows <= this.maxBatchSize)) {
      const entry = this.take();
      batch.push(entry);
      rows += entry.rows;
    }
    this.queuedRows -= rows;
    let x: Float32Array;
    if (batch.length === 1) x = batch[0]!.x;
    else {
      x = new Float32Array(rows * this.dim);
      let offset = 0;
      for (const entry of batch) {
        x.set(entry.x, offset);
        offset += entry.x.length;
      }
    }
    this.inFlight++;
    this.group.inFlight++;
    this.options.onBatch?.(rows);
    const started = performance.now();
    const traced = activeTracer() !== undefined && batch.some((e) => e.trace);
    if (traced) traceQueueWaits(batch, started, rows);
    this.runBatch(x, rows).then(
      (y) => {
        if (traced) traceRun(batch, started, performance.now(), rows);
        this.msPerRow = 0.8 * this.msPerRow + 0.2 * ((performance.now() - started) / rows);
        let offset = 0;
        for (const entry of batch) {
          const n = entry.rows * this.outputDim;
          entry.resolve(y.subarray(offset, offset + n));
          offset += n;
        }
        this.settle();
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        if (traced) traceRun(batch, started, performance.now(), rows, error);
        for (const entry of batch) entry.reject(error);
        this.settle();
      },
    );
  }

  private settle(): void {
    this.inFlight--;
    this.group.inFlight--;
    this.pump();
    this.group.settled(this);
    if (this.waiting === 0 && this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private get waiting(): number {
    return this.queue.length - this.head;
  }

  private take(): Entry {
    const entry = this.queue[this.head]!;
    this.queue[this.head++] = undefined as unknown as Entry; // let it be collected
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  private expire(now: number): void {
    while (this.waiting > 0 && this.queue[this.head]!.deadline <= now) {
      const entry = this.take();
      this.queuedRows -= entry.rows;
      this.options.onShed?.('timeout');
      entry.reject(new ServingError('timeout', `the request waited more than ${this.timeoutMs} ms for the model`));
    }
  }
}
