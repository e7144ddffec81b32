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
  /** @default Date.now */
  now?: () => number;
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

  get state(): BreakerState {
    return this.current;
  }

  /** Runs `fn` under the breaker; throws DependencyUnavailableError without calling it when open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.current === 'open') {
      const waitedMs = this.now() - this.openedAt;
      if (waitedMs < this.resetAfterMs || this.trialInFlight) {
        throw new DependencyUnavailableError(
          `${this.options.name} is unavailable (circuit open after ${this.threshold} failures)`,
          Math.max(1, Math.ceil((this.resetAfterMs - waitedMs) / 1000)),
        );
      }
      this.setState('half-open');
    }
    const trial = this.current === 'half-open';
    if (trial) this.trialInFlight = true;
    try {
      const result = await this.withDeadline(fn);
      this.failures = 0;
      this.setState('closed');
      return result;
    } catch (err) {
      if (!(this.options.isNeutral?.(err) ?? false)) this.recordFailure(trial);
      else if (trial) this.setState('closed');
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  private recordFailure(trial: boolean): void {
    this.failures++;
    if (trial || this.failures >= this.threshold) {
      this.openedAt = this.now();
      this.setState('open');
    }
  }

  private setState(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onStateChange?.(state);
  }

  private withDeadline<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new DependencyUnavailableError(`${this.options.name} did not answer within ${this.timeoutMs} ms`, 1)),
        this.timeoutMs,
      );
      timer.unref?.();
      fn().then(
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
