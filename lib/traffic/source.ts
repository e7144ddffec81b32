// What a replay sends: one row of any table as a request instance, the key it routes by, and its
// true label (posted later as feedback). Sources (a table file, the flights example's months)
// yield these in the order the traffic happened.

/** One row to replay. */
export interface ReplayRow {
  /** The served model's input columns by name, as a prediction request carries them. */
  instance: Record<string, unknown>;
  /** A stable id of the row, used as the routing key and to pick which labels are posted. */
  key: string;
  /** The true outcome: binary 0/1, a regression value, or a multiclass class name. */
  label: number | string;
}

/** A served model's input column as `GET /v1/models/{name}/schema` lists it. */
export interface ReplayInput {
  name: string;
  /** number, string, boolean, timestamp or vector[<length>]. */
  kind: string;
}
