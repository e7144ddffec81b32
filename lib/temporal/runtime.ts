// Routes the Temporal SDK's own logs (Rust core and worker) into Flywheel's logger, and, when
// asked, exposes Core's metrics (pollers, slots, task latencies) to Prometheus on a loopback
// address that the worker's /metrics merges in. Runtime.install may run once per process, before
// any connection is made.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../log.ts';

const LEVELS: Record<string, LogLevel> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  fatal: 'ERROR',
  silent: 'ERROR',
};

export interface InstallRuntimeOptions {
  /** Signals that make the SDK shut its workers down; [] when the process handles them itself.
   * @default the SDK's (SIGINT, SIGTERM, SIGQUIT, SIGUSR2) */
  shutdownSignals?: NodeJS.Signals[];
  /** Where Core serves its Prometheus metrics (`127.0.0.1:<port>`, scraped only by the process
   * itself). @default none: Core's metrics are not exported */
  prometheusBindAddress?: string;
}

/** Core's Prometheus exporter, in Prometheus' own conventions: counters end in `_total` and
 * durations are histograms in seconds (`temporal_activity_execution_latency_seconds`). */
function prometheusMetrics(bindAddress: string) {
  return {
    metrics: {
      prometheus: { bindAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true },
    },
  };
}

export function installTemporalRuntime(logger: Logger, level: string, options: InstallRuntimeOptions = {}): void {
  const sdkLevel = LEVELS[level] ?? 'INFO';
  Runtime.install({
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    ...(options.prometheusBindAddress ? { telemetryOptions: prometheusMetrics(options.prometheusBindAddress) } : {}),
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const fields = { ...(entry.meta ?? {}), component: 'temporal-sdk' };
      const lvl = entry.level.toLowerCase();
      if (lvl === 'error') logger.error(fields, entry.message);
      else if (lvl === 'warn') logger.warn(fields, entry.message);
      else if (lvl === 'info') logger.info(fields, entry.message);
      else logger.debug(fields, entry.message);
    }),
  });
}
