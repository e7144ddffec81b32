// The spot-preemption notice. A GPU worker treats SIGTERM as "this machine goes away soon":
// running training activities checkpoint at once and throw PreemptedError (a retryable Preempted),
// while the Temporal runtime shuts the worker down gracefully.
export interface Preemption {
  /** Aborted when the notice arrives; its reason is the signal name. */
  readonly signal: AbortSignal;
  dispose(): void;
}

export function listenForPreemption(signals: readonly NodeJS.Signals[] = ['SIGTERM']): Preemption {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => controller.abort(new Error(`preemption notice (${sig})`));
  for (const s of signals) process.on(s, onSignal);
  return {
    signal: controller.signal,
    dispose: () => signals.forEach((s) => process.off(s, onSignal)),
  };
}

/** A preemption signal that never fires (CPU workers, tests). */
export function noPreemption(): Preemption {
  return { signal: new AbortController().signal, dispose: () => undefined };
}

/** A training activity stopped for a preemption notice; the next attempt resumes from `checkpointUri`. */
export class PreemptedError extends Error {
  override readonly name = 'PreemptedError';
  constructor(
    /** The worker that was preempted. */
    readonly identity: string,
    /** The last checkpoint written; null: the run starts over. */
    readonly checkpointUri: string | null,
  ) {
    super(`preempted on ${identity}; resume from ${checkpointUri ?? 'the start'}`);
  }
}
