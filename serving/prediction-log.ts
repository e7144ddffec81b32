// The prediction log: every prediction is buffered in memory and written in batches off the hot
// path. If the database is down, serving goes on: entries wait (bounded) and are retried; past
// the bound new entries are dropped and counted, never blocking a request.
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';

export interface PredictionLogEntry {
  requestId: string;
  instance: number;
  model: string;
  version: number;
  shadow: boolean;
  routingKey: string | undefined;
  features: object;
  output: number;
  latencyMs: number;
  at: Date;
}

export interface PredictionLogOptions {
  /** Entries held while the database is slow or down; more are dropped. @default 50000 */
  maxBuffer?: number;
  /** Entries per INSERT. @default 1000 */
  batchSize?: number;
  /** @default 200 */
  flushIntervalMs?: number;
  onWritten?: (n: number) => void;
  onDropped?: (n: number) => void;
}

export class PredictionLog {
  private buffer: PredictionLogEntry[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private failures = 0;
  private retryAt = 0;
  private readonly maxBuffer: number;
  private readonly batchSize: number;
  dropped = 0;
  written = 0;

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
    private readonly options: PredictionLogOptions = {},
  ) {
    this.maxBuffer = options.maxBuffer ?? 50_000;
    this.batchSize = options.batchSize ?? 1000;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  get buffered(): number {
    return this.buffer.length;
  }

  record(entry: PredictionLogEntry): void {
    if (this.buffer.length >= this.maxBuffer) {
      this.dropped++;
      this.options.onDropped?.(1);
      return;
    }
    this.buffer.push(entry);
  }

  /** Writes what is buffered (one flush at a time); failures keep the entries for the next try. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and makes a last attempt to write everything. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.retryAt = 0;
    await this.flush();
  }

  private async writeAll(): Promise<void> {
    if (Date.now() < this.retryAt) return;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      try {
        await this.insert(batch);
      } catch (err) {
        this.failures++;
        // Back off up to 5 s so a down database is not hammered; entries stay buffered.
        this.retryAt = Date.now() + Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        if (this.failures === 1 || this.failures % 50 === 0) {
          this.logger.warn({ err, buffered: this.buffer.length, failures: this.failures }, 'prediction log write failed; buffering');
        }
        return;
      }
      if (this.failures > 0) this.logger.info({ failures: this.failures }, 'prediction log writes recovered');
      this.failures = 0;
      this.buffer.splice(0, batch.length);
      this.written += batch.length;
      this.options.onWritten?.(batch.length);
    }
  }

  private async insert(batch: PredictionLogEntry[]): Promise<void> {
    // Arrays + unnest: one statement and one round trip per batch on PostgreSQL and PGlite alike.
    // ON CONFLICT makes a retry after an ambiguous failure harmless.
    await this.db.query(
      `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, routing_key, features, output, latency_ms, created_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::bool[], $6::text[], $7::jsonb[], $8::real[], $9::real[], $10::timestamptz[])
       ON CONFLICT DO NOTHING`,
      [
        batch.map((e) => e.requestId),
        batch.map((e) => e.instance),
        batch.map((e) => e.model),
        batch.map((e) => e.version),
        batch.map((e) => e.shadow),
        batch.map((e) => e.routingKey ?? null),
        batch.map((e) => JSON.stringify(e.features)),
        batch.map((e) => e.output),
        batch.map((e) => e.latencyMs),
        batch.map((e) => e.at.toISOString()),
      ],
    );
  }
}
