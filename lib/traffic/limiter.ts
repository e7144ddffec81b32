// Small concurrency helpers for the replay: a FIFO slot limiter and sleeps that end early (and
// quietly) when a signal aborts, so shutdown never waits out a timer.

export class SlotLimiter {
  readonly #max: number;
  #used = 0;
  readonly #waiters: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  get used(): number {
    return this.#used;
  }

  /** Resolves true with a slot held, or false (no slot) when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.#used < this.#max) {
      this.#used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#used++;
        resolve(true);
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(grant);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(grant);
    });
  }

  release(): void {
    this.#used--;
    this.#waiters.shift()?.();
  }
}

/** A wake-up call: `wait()` resolves at the next `wake()` or when `signal` aborts. */
export class Waker {
  #resolve: (() => void) | undefined;

  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        this.#resolve = undefined;
        resolve();
      };
      this.#resolve = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  wake(): void {
    this.#resolve?.();
  }
}
