// How a training activity tells its worker about a run's checkpoints, without knowing what the
// worker does with it (the worker's checkpoint-age gauge and resume counter).
export interface WatchedRun {
  /** A checkpoint of this run was just written. */
  written(): void;
  /** The run stopped (finished, failed, preempted or cancelled). */
  end(): void;
}

export interface CheckpointWatch {
  /** A training run starts on this worker; `resumed`: from a checkpoint. */
  run(runKey: string, start: { resumed: boolean }): WatchedRun;
}

/** Watches nothing (tests, processes without metrics). */
export const noCheckpointWatch: CheckpointWatch = {
  run: () => ({ written: () => undefined, end: () => undefined }),
};
