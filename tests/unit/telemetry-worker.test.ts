// createWorker (lib/temporal/worker.ts) with tracing off passes Worker.create exactly what it did
// before tracing existed: no workflow interceptor module (so the same bundle), no sinks, no client
// interceptors. On, it adds Temporal's OpenTelemetry interceptors and the workflow span sink.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTracing } from '../../lib/telemetry/index.ts';
import { createWorker } from '../../lib/temporal/worker.ts';

function captureCreate(): WorkerOptions[] {
  const seen: WorkerOptions[] = [];
  vi.spyOn(Worker, 'create').mockImplementation((options: WorkerOptions) => {
    seen.push(options);
    return Promise.resolve({} as Worker);
  });
  return seen;
}

const BASE = { taskQueue: 'q', workflowsPath: '/w/index.ts', activities: {} } as const;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createWorker and tracing', () => {
  it('off: only the failure-mapping interceptor, as before tracing existed', async () => {
    const seen = captureCreate();
    await createWorker(BASE);
    const options = seen[0]!;
    expect(Object.keys(options).sort()).toEqual(['activities', 'interceptors', 'taskQueue', 'workflowsPath']);
    expect(Object.keys(options.interceptors!)).toEqual(['activity']);
    expect(options.interceptors!.activity).toHaveLength(1);
  });

  it('on: the workflow interceptor module, the activity and client interceptors, and the span sink', async () => {
    const tracing = startTracing(
      { tracesUrl: 'http://127.0.0.1:1/v1/traces' },
      { serviceName: 't', spanProcessor: new SimpleSpanProcessor(new InMemorySpanExporter()) },
    );
    try {
      const seen = captureCreate();
      await createWorker({ ...BASE, interceptors: { workflowModules: ['/mine.ts'] } });
      const { interceptors, sinks } = seen[0]!;
      expect(interceptors!.workflowModules).toEqual([
        '/mine.ts',
        expect.stringMatching(/interceptors-opentelemetry\/lib\/workflow-interceptors\.js$/),
      ]);
      expect(interceptors!.activity).toHaveLength(2);
      expect(interceptors!.client?.workflow).toHaveLength(1);
      expect(Object.keys(sinks!)).toEqual(['exporter']);
    } finally {
      await tracing?.shutdown();
    }
  });
});
