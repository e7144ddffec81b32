// The prediction log: every prediction is buffered in memory and written in batches off the hot
// path. If the database is down, serving goes on: entries wait (bounded) and are retried; past
// the bound new entries are dropped and counted, never blocking a request. A row the database
// refuses for its content is never retried: the batch is split until that row stands alone, and
// it is set aside in `prediction_log_quarantine` with the reason, so one bad row cannot stop the
// rows behind it.
import { isPermanentDbError, sqlState } from '../lib/db/errors.ts';
import type { Database } from '../lib/db/index.ts';
import type { Logger } from '../lib/log.ts';
import { toStorableText } from '../lib/text/storable.ts';

export interface PredictionLogEntry {
  requestId: string;
  instance: number;
  model: string;
  version: number;
  shadow: boolean;
  routingKey: string | undefined;
  /** The request instance as sent (the model's input columns). */
  features: object;
  /** Binary: P(label = 1); multiclass: the probability of the predicted class; regression: the
   * predicted value (NaN when the model failed). */
  output: number;
  /** Multiclass: the predicted class; null otherwise. */
  outputClass?: string | null;
  latencyMs: number;
  at: Date;
}

/** Why rows were dropped: the buffer was full, the server stopped with rows unwritten, or a row
 * could be neither written nor quarantined. */
export type DropReason = 'buffer_full' | 'shutdown' | 'unstorable';

export interface PredictionLogOptions {
  /** Entries held while the database is slow or down; more are dropped. @default 50000 */
  maxBuffer?: number;
  /** Entries per INSERT. @default 1000 */
  batchSize?: number;
  /** @default 200 */
  flushIntervalMs?: number;
  onWritten?: (n: number) => void;
  onDropped?: (n: number, reason: DropReason) => void;
  onQuarantined?: (n: number) => void;
}

/** What `/readyz` and the metrics show about the writer. */
export interface PredictionLogState {
  buffered: number;
  written: number;
  dropped: number;
  quarantined: number;
  /** Failed writes in a row (0 when the last write succeeded). */
  consecutiveFailures: number;
  lastError: string | null;
  lastWriteAt: string | null;
}

/** A write that failed for a reason a retry may cure (connection, timeout): keep the rows. */
class TransientWriteError extends Error {
  override readonly name = 'TransientWriteError';
}

export class PredictionLog {
  private buffer: PredictionLogEntry[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private failures = 0;
  private retryAt = 0;
  private lastError: string | null = null;
  private lastWriteAt: Date | null = null;
  /** Rows of the batch being written that are settled (written, quarantined or dropped); always a
   * prefix of the batch, since halves are written in order. */
  private settled = 0;
  private readonly maxBuffer: number;
  private readonly batchSize: number;
  dropped = 0;
  written = 0;
  quarantined = 0;

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

  state(): PredictionLogState {
    return {
      buffered: this.buffer.length,
      written: this.written,
      dropped: this.dropped,
      quarantined: this.quarantined,
      consecutiveFailures: this.failures,
      lastError: this.lastError,
      lastWriteAt: this.lastWriteAt?.toISOString() ?? null,
    };
  }

  record(entry: PredictionLogEntry): void {
    if (this.buffer.length >= this.maxBuffer) {
      this.drop(1, 'buffer_full');
      return;
    }
    this.buffer.push(entry);
  }

  /** Writes what is buffered (one flush at a time); failures keep the entries for the next try. */
  flush(): Promise<void> {
    this.flushing ??= this.writeAll().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Stops the timer and makes a last attempt to write everything; what still cannot be written
   * is counted as dropped (reason `shutdown`) and logged, never lost silently. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    this.retryAt = 0;
    await this.flush();
    const left = this.buffer.length;
    if (left > 0) {
      this.buffer = [];
      this.drop(left, 'shutdown');
      this.logger.error({ rows: left, lastError: this.lastError }, 'prediction log closed with rows it could not write; they are dropped');
    }
  }

  private drop(n: number, reason: DropReason): void {
    this.dropped += n;
    this.options.onDropped?.(n, reason);
  }

  private async writeAll(): Promise<void> {
    if (Date.now() < this.retryAt) return;
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.batchSize);
      this.settled = 0;
      try {
        await this.writeIsolating(batch);
      } catch (err) {
        // Rows settled before the failure are done with; the rest wait for the retry.
        this.buffer.splice(0, this.settled);
        this.failures++;
        this.lastError = describe(err);
        // Back off up to 5 s so a down database is not hammered; entries stay buffered.
        this.retryAt = Date.now() + Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
        if (this.failures === 1 || this.failures % 50 === 0) {
          this.logger.warn({ err, buffered: this.buffer.length, failures: this.failures }, 'prediction log write failed; buffering');
        }
        return;
      }
      if (this.failures > 0) this.logger.info({ failures: this.failures }, 'prediction log writes recovered');
      this.failures = 0;
      this.lastError = null;
      this.lastWriteAt = new Date();
      this.buffer.splice(0, batch.length);
    }
  }

  /**
   * Writes `rows`, or throws TransientWriteError having written none of them. A permanent refusal
   * splits the rows in halves (each written on its own) down to the single row at fault, which
   * goes to quarantine. Halves already written stay written: the insert ignores conflicts, so a
   * retry after a later transient failure is harmless.
   */
  private async writeIsolating(rows: PredictionLogEntry[]): Promise<void> {
    try {
      await this.insert(rows);
      this.countWritten(rows.length);
      return;
    } catch (err) {
      if (!isPermanentDbError(err)) throw new TransientWriteError(describe(err), { cause: err });
      if (rows.length === 1) return this.quarantine(rows[0]!, err);
    }
    const mid = Math.ceil(rows.length / 2);
    await this.writeIsolating(rows.slice(0, mid));
    await this.writeIsolating(rows.slice(mid));
  }

  private countWritten(n: number): void {
    this.settled += n;
    this.written += n;
    this.options.onWritten?.(n);
  }

  private async quarantine(row: PredictionLogEntry, cause: unknown): Promise<void> {
    const reason = describe(cause).slice(0, 500);
    this.logger.warn({ model: toStorableText(row.model), reason }, 'prediction log row refused by the database; quarantined');
    try {
      await this.db.query(`INSERT INTO prediction_log_quarantine (model, sqlstate, reason, entry) VALUES ($1, $2, $3, $4)`, [
        toStorableText(row.model).slice(0, 256),
        sqlState(cause) ?? null,
        toStorableText(reason),
        // JSON.stringify escapes control characters and lone surrogates: the text is storable.
        JSON.stringify(row),
      ]);
    } catch (err) {
      if (!isPermanentDbError(err)) throw new TransientWriteError(describe(err), { cause: err });
      this.logger.error({ err }, 'prediction log row could be neither written nor quarantined; dropped');
      this.settled++;
      this.drop(1, 'unstorable');
      return;
    }
    this.settled++;
    this.quarantined++;
    this.options.onQuarantined?.(1);
  }

  private async insert(batch: PredictionLogEntry[]): Promise<void> {
    // The whole batch as one JSON parameter, expanded by json_to_recordset: one statement and one
    // round trip per batch on PostgreSQL and PGlite alike. One JSON text built here is far cheaper
    // for the server than eleven array parameters, whose every element the driver escaped one by
    // one (the no-op server's profile: ~9% of its CPU in this write). ON CONFLICT makes a retry
    // after an ambiguous failure harmless.
    await this.db.query(
      `INSERT INTO prediction_log (request_id, instance, model, model_version, shadow, routing_key, features, output, latency_ms, created_at, output_class)
       SELECT r, i, m, v, s, k, f, o, l, to_timestamp(t / 1000), c
       FROM json_to_recordset($1::json) AS x(r text, i int, m text, v int, s bool, k text, f jsonb, o real, l real, t double precision, c text)
       ON CONFLICT DO NOTHING`,
      [batchJson(batch)],
    );
  }
}

/** A number as JSON; NaN and ±Infinity (JSON has none) as the strings PostgreSQL's real reads. */
function jsonNumber(x: number): string {
  return Number.isFinite(x) ? String(x) : `"${x}"`;
}

function jsonText(s: string | null | undefined): string {
  return s === null || s === undefined ? 'null' : JSON.stringify(s);
}

/** The rows for json_to_recordset, short keys in the order of its column list. */
export function batchJson(batch: readonly PredictionLogEntry[]): string {
  let out = '[';
  for (let j = 0; j < batch.length; j++) {
    const e = batch[j]!;
    out +=
      `${j ? ',' : ''}{"r":${JSON.stringify(e.requestId)},"i":${e.instance},"m":${JSON.stringify(e.model)},"v":${e.version},` +
      `"s":${e.shadow},"k":${jsonText(e.routingKey)},"f":${JSON.stringify(e.features)},"o":${jsonNumber(e.output)},` +
      `"l":${jsonNumber(e.latencyMs)},"t":${e.at.getTime()},"c":${jsonText(e.outputClass)}}`;
  }
  return `${out}]`;
}

function describe(err: unknown): string {
  const state = sqlState(err);
  const message = err instanceof Error ? err.message : String(err);
  return state ? `${state}: ${message}` : message;
}
