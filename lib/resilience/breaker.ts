// A circuit breaker with a deadline: a dependency that is down or hung costs its callers at most
// `timeoutMs` while the breaker is closed, and nothing once it has opened (calls fail at once
// until `resetAfterMs` has passed, then one trial call decides). This is what keeps a database
// outage from turning into requests that hang or pile up behind a pool.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Used in error messages ("the database …"). */
  name: string;
  /** Failures in a row that open the breaker. @default 3 */
  failureThreshold?: number;
  /** How long the breaker stays open before one trial call. @default 2000 */
  resetAfterMs?: number;
  /** A call slower than this fails (and counts as a failure). @default 2000 */
  timeoutMs?: number;
  /** Failures that say nothing about the dependency's health (e.g. a constraint violation). */
  isNeutral?: (err: unknown) => boolean;
  onStateChange?: (state: BreakerState) => void;
  /** A call refused without reaching the dependency (the breaker was open). */
  onReject?: () => void;
  /** @default Date.now */
  now?: () => number;
}

export interface RunOptions {
  /** This call's deadline instead of the breaker's `timeoutMs` (a large batch write). */
  timeoutMs?: number;
}

/** What readiness and the metrics show about one breaker. */
export interface BreakerSnapshot {
  state: BreakerState;
  /** Failures in a row (0 after a success). */
  consecutiveFailures: number;
  /** Calls refused while open, since the process started. */
  rejections: number;
  /** When it last opened (ISO); null if it never did. */
  openedAt: string | null;
}

/** The call did not reach the dependency: the breaker is open, or the call timed out. */
export class DependencyUnavailableError extends Error {
  override readonly name = 'DependencyUnavailableError';

  constructor(
    message: string,
    /** Seconds until a retry may succeed. */
    readonly retryAfterS: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private everOpened = false;
  private rejections = 0;
  private trialInFlight = false;
  private current: BreakerState = 'closed';
  private readonly threshold: number;
  private readonly resetAfterMs: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.threshold = options.failureThreshold ?? 3;
    this.resetAfterMs = options.resetAfterMs ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  get name(): string {
    return this.options.name;
  }

  get state(): BreakerState {
    return this.current;
  }

  snapshot(): BreakerSnapshot {
    return {
      state: this.current,
      consecutiveFailures: this.failures,
      rejections: this.rejections,
      openedAt: this.everOpened ? new Date(this.openedAt).toISOString() : null,
    };
  }

  /**
   * Runs `fn` under the breaker; throws DependencyUnavailableError without calling it when open.
   * `fn` gets a signal that aborts at the deadline, so I/O that takes one stops there too.
   */
  async run<T>(fn: (signal: AbortSignal) => Promise<T>, options: RunOptions = {}): Promise<T> {
    if (this.current === 'open') {
      const waitedMs = this.now() - this.openedAt;
      if (waitedMs < this.resetAfterMs || this.trialInFlight) {
        this.rejections++;
        this.options.onReject?.();
        throw new DependencyUnavailableError(
          `${this.options.name} is unavailable (circuit open after ${this.threshold} failures)`,
          Math.max(1, Math.ceil((this.resetAfterMs - waitedMs) / 1000)),
        );
      }
      this.setState('half-open');
    } else if (this.current === 'half-open' && this.trialInFlight) {
      // One trial at a time: the others fail fast until it has decided.
      this.rejections++;
      this.options.onReject?.();
      throw new DependencyUnavailableError(`${this.options.name} is unavailable (a trial call is deciding)`, 1);
    }
    const trial = this.current === 'half-open';
    if (trial) this.trialInFlight = true;
    try {
      const result = await this.withDeadline(fn, options.timeoutMs ?? this.timeoutMs);
      this.failures = 0;
      this.setState('closed');
      return result;
    } catch (err) {
      if (!(this.options.isNeutral?.(err) ?? false)) this.recordFailure(trial);
      // The dependency answered (with a refusal about the request): it is up.
      else if (trial) {
        this.failures = 0;
        this.setState('closed');
      }
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  private recordFailure(trial: boolean): void {
    this.failures++;
    if (trial || this.failures >= this.threshold) {
      this.openedAt = this.now();
      this.everOpened = true;
      this.setState('open');
    }
  }

  private setState(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onStateChange?.(state);
  }

  private withDeadline<T>(fn: (signal: AbortSignal) => Promise<T>, timeoutMs: number): Promise<T> {
    const controller = new AbortController();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new DependencyUnavailableError(`${this.options.name} did not answer within ${timeoutMs} ms`, 1);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
      timer.unref?.();
      let pending: Promise<T>;
      try {
        pending = fn(controller.signal);
      } catch (err) {
        clearTimeout(timer);
        reject(err);
        return;
      }
      pending.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
