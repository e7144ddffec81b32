// What an entity workflow (lifecycle, drift monitor) records when a handler refuses a signal
// payload: a bad payload from the CLI, a script or the events route is shown in the status and
// logged, and never fails the workflow task (which would wedge the workflow until a reset).

/** A signal payload a handler refused (the newest few are kept in the status). */
export interface RefusedPayload {
  /** The signal's name, e.g. `retrain`, `checkNow`. */
  handler: string;
  /** What was wrong with it, one line per field. */
  reason: string;
  /** When it arrived (workflow time, ISO 8601). */
  at: string;
}
