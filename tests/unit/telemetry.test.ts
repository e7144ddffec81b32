// Tracing (lib/telemetry): off by default, with nothing registered and nothing added to requests,
// workers or clients; on, the request, batcher and CLI spans nest the way docs/tracing.md says.
// The spans go to an in-memory exporter here; tests/integration/tracing.test.ts uses Jaeger.
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Command } from 'commander';
import Fastify from 'fastify';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import {
  activeTracer,
  currentTracing,
  inSpan,
  startTracing,
  traceHeaders,
  tracingClientInterceptors,
  tracingWorkerOptions,
  tracingWorkflowModules,
  type Tracing,
} from '../../lib/telemetry/index.ts';
import { commandName, runTraced } from '../../cli/tracing.ts';
import { DynamicBatcher } from '../../serving/batcher.ts';
import { registerRequestTracing } from '../../serving/http/tracing.ts';

/** Keeps its spans through the provider's shutdown (the CLI test reads them after it). */
class KeptSpans extends InMemorySpanExporter {
  override shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

function appWithRoute() {
  const app = Fastify();
  const traced = registerRequestTracing(app);
  app.get<{ Params: { id: string } }>('/things/:id', async function thingRoute() {
    return inSpan('thing.load', {}, async () => ({ active: trace.getActiveSpan()?.spanContext().traceId ?? null }));
  });
  app.get('/healthz', async function healthzRoute() {
    return { ok: true };
  });
  return { app, traced };
}

describe('tracing off (the default)', () => {
  it('is off unless FLYWHEEL_TRACING is true, and refuses a value that is not a boolean', () => {
    expect(loadConfig('cli', {}).tracing).toBeUndefined();
    expect(loadConfig('cli', { FLYWHEEL_TRACING: 'false', OTEL_SERVICE_NAME: 'x' }).tracing).toBeUndefined();
    expect(() => loadConfig('cli', { FLYWHEEL_TRACING: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig('cli', { FLYWHEEL_TRACING: 'maybe' })).toThrow(/FLYWHEEL_TRACING: expected true or false/);
    expect(() => loadConfig('worker', { FLYWHEEL_TRACING: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT: expected the base URL of an OTLP\/HTTP collector/,
    );
  });

  it('registers no provider and adds nothing to clients, workers or requests', async () => {
    expect(startTracing(loadConfig('serve', {}).tracing, { serviceName: 'flywheel-serve' })).toBeUndefined();
    expect(activeTracer()).toBeUndefined();
    expect(currentTracing()).toBeUndefined();
    // The API's global provider is still the no-op: a span made through it records nothing.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(tracingClientInterceptors()).toBeUndefined();
    expect(tracingWorkerOptions()).toBeUndefined();
    expect(tracingWorkflowModules()).toEqual([]);
    expect(traceHeaders()).toEqual({});

    const { app, traced } = appWithRoute();
    expect(traced).toBe(false);
    const res = await app.inject({ method: 'GET', url: '/things/1', headers: { traceparent: TRACEPARENT } });
    expect(res.json()).toEqual({ active: null });
    await app.close();
  });
});

describe('tracing on', () => {
  // One provider per process (as in production); the CLI test at the end shuts it down.
  const exporter = new KeptSpans();
  let tracing: Tracing | undefined;
  beforeAll(() => {
    tracing = startTracing(
      { tracesUrl: 'http://127.0.0.1:1/v1/traces' },
      { serviceName: 'flywheel-test', spanProcessor: new SimpleSpanProcessor(exporter) },
    );
  });
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const one = (name: string): ReadableSpan => {
    const found = spans(name);
    expect(found, name).toHaveLength(1);
    return found[0]!;
  };

  it('derives the traces URL the way the OpenTelemetry SDKs do', () => {
    expect(loadConfig('cli', { FLYWHEEL_TRACING: 'true' }).tracing).toEqual({ tracesUrl: 'http://127.0.0.1:4318/v1/traces' });
    expect(loadConfig('cli', { FLYWHEEL_TRACING: '1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/' }).tracing?.tracesUrl).toBe(
      'http://otel:4318/v1/traces',
    );
    expect(
      loadConfig('serve', {
        FLYWHEEL_TRACING: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://jaeger:4318/v1/traces',
        OTEL_SERVICE_NAME: 'serving-eu',
      }).tracing,
    ).toEqual({ tracesUrl: 'http://jaeger:4318/v1/traces', serviceName: 'serving-eu' });
  });

  it('gives clients and workers the Temporal interceptors and the workflow span sink', () => {
    expect(tracing?.serviceName).toBe('flywheel-test');
    expect(tracingClientInterceptors()?.workflow).toHaveLength(1);
    const worker = tracingWorkerOptions()!;
    expect(worker.interceptors.workflowModules).toEqual([
      expect.stringMatching(/interceptors-opentelemetry\/lib\/workflow-interceptors\.js$/),
    ]);
    expect(worker.interceptors.activity).toHaveLength(1);
    expect(Object.keys(worker.sinks)).toEqual(['exporter']);
  });

  it("makes a server span per request, the caller's traceparent its parent, active for the handler", async () => {
    exporter.reset();
    const { app, traced } = appWithRoute();
    expect(traced).toBe(true);
    const res = await app.inject({ method: 'GET', url: '/things/7?x=1', headers: { traceparent: TRACEPARENT } });
    expect(res.json()).toEqual({ active: '0af7651916cd43dd8448eb211c80319c' });
    await app.inject({ method: 'GET', url: '/healthz' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    await app.close();

    const request = one('GET /things/:id');
    expect(request.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(request.parentSpanId).toBe('b7ad6b7169203331');
    expect(request.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/things/:id',
      'url.path': '/things/7',
      'http.response.status_code': 200,
    });
    expect(one('thing.load').parentSpanId).toBe(request.spanContext().spanId);
    // Probes are not traced; an unmatched route still is, named by its method.
    expect(spans('GET /healthz')).toEqual([]);
    expect(one('GET').attributes['http.response.status_code']).toBe(404);
  });

  it("records each merged request's queue wait and inference run under its own trace", async () => {
    exporter.reset();
    const releases: Array<() => void> = [];
    const run = (x: Float32Array, rows: number) =>
      new Promise<Float32Array>((resolve) => releases.push(() => resolve(new Float32Array(rows))));
    const b = new DynamicBatcher(run, 2, 1, { maxBatchSize: 8, maxDelayMs: 1000, concurrency: 1 });
    const submit = (name: string, rows: number) => inSpan(name, {}, () => b.submit(new Float32Array(rows * 2), rows));
    const first = submit('request-1', 1);
    const merged = [submit('request-2', 2), submit('request-3', 3)];
    releases.shift()!(); // the first run ends; the two waiting requests go out as one batch of 5 rows
    await first;
    await new Promise((r) => setImmediate(r));
    releases.shift()!();
    await Promise.all(merged);
    b.close();

    const runs = spans('inference.run');
    expect(runs).toHaveLength(3);
    for (const [name, rows, batchRows, requests] of [
      ['request-1', 1, 1, 1],
      ['request-2', 2, 5, 2],
      ['request-3', 3, 5, 2],
    ] as const) {
      const parent = one(name).spanContext();
      const mine = (s: ReadableSpan) => s.spanContext().traceId === parent.traceId && s.parentSpanId === parent.spanId;
      const expected = { 'flywheel.rows': rows, 'flywheel.batch.rows': batchRows, 'flywheel.batch.requests': requests };
      expect(runs.filter(mine).map((s) => s.attributes)).toEqual([expected]);
      expect(
        spans('batcher.queue')
          .filter(mine)
          .map((s) => s.attributes),
      ).toEqual([expected]);
    }
  });

  it('puts the active span into outgoing W3C headers', async () => {
    await inSpan('outgoing', {}, async (span) => {
      const { traceId, spanId } = span!.spanContext();
      expect(traceHeaders()).toEqual({ traceparent: `00-${traceId}-${spanId}-01` });
    });
  });

  it('finds the command name after the global options', () => {
    const withValue = ['--address', '--namespace'];
    expect(commandName(['--address', 'h:1', 'serve', '--port', '1'], withValue)).toBe('serve');
    expect(commandName(['--address=h:1', 'pipeline', 'run'], withValue)).toBe('pipeline');
    expect(commandName(['--help'], withValue)).toBeUndefined();
  });

  it('runs a CLI command inside one root span named for it, then flushes and turns tracing off', async () => {
    exporter.reset();
    const program = new Command().name('flywheel').exitOverride();
    program
      .command('models')
      .command('list')
      .action(() => inSpan('inner', {}, async () => undefined));
    process.env.FLYWHEEL_TRACING = 'true';
    try {
      await runTraced(program, ['models', 'list'], [], () => program.parseAsync(['node', 'flywheel', 'models', 'list']));
    } finally {
      delete process.env.FLYWHEEL_TRACING;
    }
    const root = one('flywheel models list');
    expect(root.parentSpanId).toBeUndefined();
    expect(one('inner').parentSpanId).toBe(root.spanContext().spanId);
    expect(activeTracer()).toBeUndefined();
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
  });
});
