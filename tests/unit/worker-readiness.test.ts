// Worker readiness: starting, running, a failed poller, an unreachable frontend, draining.
import { describe, expect, it } from 'vitest';
import { createWorkerReadiness, type NamedWorker } from '../../workers/shared/readiness.ts';

type State = ReturnType<NamedWorker['worker']['getState']>;

function fakeWorker(name: string, state: { run: State; activityPoller?: 'POLLING' | 'FAILED' }): NamedWorker {
  return {
    name,
    worker: {
      getState: () => state.run,
      getStatus: () =>
        ({ runState: state.run, workflowPollerState: 'POLLING', activityPollerState: state.activityPoller ?? 'POLLING' }) as ReturnType<
          NamedWorker['worker']['getStatus']
        >,
    },
  };
}

function fakeConnection(answer: () => Promise<{ status: number }>) {
  let calls = 0;
  return {
    calls: () => calls,
    connection: {
      healthService: { check: () => (calls++, answer()) },
      withDeadline: (_d: number | Date, fn: () => Promise<unknown>) => fn(),
    } as never,
  };
}

describe('createWorkerReadiness', () => {
  it('is "starting" until the workers run, then ready while all run and the frontend serves', async () => {
    const r = createWorkerReadiness({ cacheMs: 0 });
    expect(await r.check()).toEqual({ ready: false, reasons: ['starting'] });
    const { connection } = fakeConnection(async () => ({ status: 1 }));
    r.running(connection, [fakeWorker('flywheel-cpu', { run: 'RUNNING' }), fakeWorker('flywheel-control', { run: 'RUNNING' })]);
    expect(await r.check()).toEqual({ ready: true, reasons: [] });
  });

  it('names a failed poller, a stopping worker and an unreachable frontend', async () => {
    const r = createWorkerReadiness({ cacheMs: 0 });
    const cpu = { run: 'RUNNING' as State, activityPoller: 'FAILED' as const };
    const control = { run: 'STOPPING' as State };
    const { connection } = fakeConnection(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233')));
    r.running(connection, [fakeWorker('flywheel-cpu', cpu), fakeWorker('flywheel-control', control)]);
    expect(await r.check()).toEqual({
      ready: false,
      reasons: [
        'draining',
        'flywheel-cpu activity poller FAILED',
        'flywheel-control worker is STOPPING',
        'Temporal frontend unreachable: connect ECONNREFUSED 127.0.0.1:7233',
      ],
    });
  });

  it('says "draining" after a shutdown signal and "stopped" after the workers stop', async () => {
    const r = createWorkerReadiness();
    r.running(fakeConnection(async () => ({ status: 1 })).connection, [fakeWorker('flywheel-gpu', { run: 'RUNNING' })]);
    r.draining();
    expect(await r.check()).toEqual({ ready: false, reasons: ['draining'] });
    r.stopped();
    r.draining();
    expect(await r.check()).toEqual({ ready: false, reasons: ['stopped'] });
  });

  it('reuses one frontend check within cacheMs', async () => {
    let now = 0;
    const r = createWorkerReadiness({ cacheMs: 2000, now: () => now });
    const fake = fakeConnection(async () => ({ status: 1 }));
    r.running(fake.connection, [fakeWorker('flywheel-gpu', { run: 'RUNNING' })]);
    await r.check();
    await r.check();
    expect(fake.calls()).toBe(1);
    now = 2000;
    await r.check();
    expect(fake.calls()).toBe(2);
  });
});
