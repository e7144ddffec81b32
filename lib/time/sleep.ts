// The one timer wait. Aborting ends the wait early instead of rejecting, so loops that sleep
// between steps check their own stop condition rather than catch.

/** Waits `ms`, or less when `signal` aborts; never rejects. `ms ≤ 0` resolves at once. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
