// Workflow and activity inputs/outputs: plain JSON objects with named types, so the SDK, the
// `temporal` CLI (`--input '{...}'`) and the Web UI all speak the same shapes.

/** Input of `routingCheck`: nothing required; `note` is echoed for tracing. */
export interface RoutingCheckInput {
  note?: string;
}

/** What a worker says about itself when a probe activity runs on it. */
export interface WorkerProbe {
  workerKind: 'cpu' | 'gpu';
  taskQueue: string;
  identity: string;
  hostname: string;
  pid: number;
  /** The activity attempt that answered (1 unless retried). */
  attempt: number;
}

export interface RoutingCheckResult {
  cpu: WorkerProbe;
  gpu: WorkerProbe;
}
