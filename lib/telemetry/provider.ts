// The process's tracer provider: spans batched and exported over OTLP/HTTP, registered globally
// (with the AsyncLocalStorage context manager and W3C trace-context propagation) so Temporal's
// interceptors and Flywheel's own spans share it. Started only when FLYWHEEL_TRACING is on;
// otherwise nothing is registered and the OpenTelemetry API stays a no-op.
import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config/index.ts';
import { activeTracer, setActiveTracer } from './state.ts';

/** The instrumentation scope of Flywheel's own spans. */
export const TRACER_NAME = 'flywheel';

/** The default service name of each process kind (OTEL_SERVICE_NAME overrides it). */
export const SERVICE_NAMES = {
  cli: 'flywheel-cli',
  worker: 'flywheel-worker',
  serve: 'flywheel-serve',
  /** `flywheel dev`: the CPU and control workers and, with --serve, the server, in one process. */
  dev: 'flywheel-dev',
} as const;

export interface Tracing {
  readonly serviceName: string;
  readonly resource: Resource;
  /** Where spans end: Temporal's workflow span sink feeds this too. */
  readonly spanProcessor: SpanProcessor;
  /** Exports what is buffered now. */
  flush(): Promise<void>;
  /** Exports what is buffered and unregisters everything; tracing is off afterwards. */
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** Used when OTEL_SERVICE_NAME is unset. */
  serviceName: string;
  /** Instead of the OTLP exporter (unit tests: an in-memory exporter). */
  exporter?: SpanExporter;
  /** @default a BatchSpanProcessor over the exporter */
  spanProcessor?: SpanProcessor;
}

let started: Tracing | undefined;

/**
 * Starts tracing when `config` says so (FLYWHEEL_TRACING=true), else returns undefined and
 * registers nothing. A second call in the same process returns the first one's handle: one
 * process exports under one service name.
 */
export function startTracing(config: TracingConfig | undefined, options: StartTracingOptions): Tracing | undefined {
  if (!config) return undefined;
  if (started) return started;
  const serviceName = config.serviceName ?? options.serviceName;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: process.env.npm_package_version ?? '0.1.0' });
  const exporter = options.exporter ?? new OTLPTraceExporter({ url: config.tracesUrl, timeoutMillis: 5000 });
  const spanProcessor = options.spanProcessor ?? new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  setActiveTracer(provider.getTracer(TRACER_NAME));
  const handle: Tracing = {
    serviceName,
    resource,
    spanProcessor,
    flush: () => provider.forceFlush(),
    async shutdown() {
      if (started !== handle) return;
      started = undefined;
      setActiveTracer(undefined);
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
  started = handle;
  return handle;
}

/** The running tracing handle, if any (the worker reads it for the workflow span sink). */
export function currentTracing(): Tracing | undefined {
  return activeTracer() ? started : undefined;
}
