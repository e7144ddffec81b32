// The console's live pages and actions over HTTP (fastify inject) with a stub Temporal client: the
// actions refuse without an admin (401), with a blank reason (400), pass a validator's refusal
// through with its words (409), name a missing workflow (404) and an unreachable Temporal (503);
// the drift page charts the stored checks as SVG; the rollout page shows the plan's steps and
// each analysis from the history; approvals list what is pending.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerActionRoutes } from '../../console/actions.ts';
import type { ConsoleContext, Principal } from '../../console/context.ts';
import { html } from '../../console/html.ts';
import { lifecycleStateForms, modelApprovalPanel, registerApprovalRoutes } from '../../console/pages/approvals.ts';
import { registerDriftRoutes } from '../../console/pages/drift.ts';
import { registerRolloutRoutes } from '../../console/pages/rollout.ts';
import type { DriftCheckSummary, DriftMonitorStatus } from '../../lib/contracts/drift-monitor.ts';
import type { LifecycleStatus } from '../../lib/contracts/model-lifecycle.ts';
import type { RolloutInput, RolloutStatus, StepAnalysis } from '../../lib/contracts/rollout.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import { createLogger } from '../../lib/log.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';
import { recordCheck } from '../../lib/tracking/store.ts';

const ADMIN = 'Bearer admin-key';

interface Call {
  workflowId: string;
  kind: 'update' | 'signal' | 'query';
  name: string;
  args: unknown[];
}

/** What the stub Temporal does, per workflow id: answers, or throws. */
interface Behaviour {
  update?: (name: string, args: unknown[]) => unknown;
  query?: (name: string) => unknown;
  history?: unknown[];
  status?: string;
}

let dir: string;
let db: PGliteDatabase;
let app: FastifyInstance;
let ctx: ConsoleContext;
let calls: Call[];
let workflows: Map<string, Behaviour>;
let listed: Array<{ workflowId: string; model: string }>;

const payload = (value: unknown) => defaultPayloadConverter.toPayload(value);

function stubTemporal(): Client {
  const behaviour = (id: string) => {
    const b = workflows.get(id);
    if (!b) throw new WorkflowNotFoundError(`workflow not found for ID: ${id}`, id, undefined);
    return b;
  };
  const handle = (workflowId: string) => ({
    workflowId,
    async executeUpdate(def: { name: string }, options: { args: unknown[] }) {
      calls.push({ workflowId, kind: 'update', name: def.name, args: options.args });
      return behaviour(workflowId).update?.(def.name, options.args);
    },
    async signal(def: { name: string }, ...args: unknown[]) {
      calls.push({ workflowId, kind: 'signal', name: def.name, args });
      behaviour(workflowId);
    },
    async query(def: { name: string }) {
      return behaviour(workflowId).query?.(def.name);
    },
    async describe() {
      return { runId: 'run-1', status: { name: behaviour(workflowId).status ?? 'RUNNING' } };
    },
    async fetchHistory() {
      return { events: behaviour(workflowId).history ?? [] };
    },
  });
  return {
    workflow: {
      getHandle: handle,
      list: () =>
        (async function* () {
          for (const w of listed) yield { workflowId: w.workflowId, typedSearchAttributes: { get: () => w.model } };
        })(),
    },
  } as unknown as Client;
}

function stubContext(): ConsoleContext {
  const principalOf = (req: { headers: Record<string, unknown> }): Principal | undefined =>
    req.headers.authorization === ADMIN ? { keyId: 'k1', name: 'alice' } : undefined;
  return {
    registry: {
      getAlias: async (model: string) => {
        if (model !== 'm-approve') throw new Error('no champion');
        return { version: 1, metrics: { auc: 0.71 } };
      },
    } as unknown as ModelRegistry,
    db,
    store: {} as ArtifactStore,
    temporal: stubTemporal(),
    namespace: 'default',
    logger: createLogger({ level: 'silent' }),
    page: (reply, options) => reply.type('text/html').send(html`<!doctype html><title>${options.title}</title>${options.body}`.value),
    async requireAdmin(req, reply) {
      const p = principalOf(req);
      if (!p) void reply.code(401).send({ error: 'sign in as an admin' });
      return p;
    },
    principal: async (req) => principalOf(req),
    workflowLink: (id) => `http://ui/${id}`,
    artifactLink: async (uri) => `http://s3/${uri.replace('s3://', '')}?sig`,
  };
}

function post(url: string, body: unknown, auth = true) {
  return app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: ADMIN } : {}) },
    payload: JSON.stringify(body),
  });
}

function check(n: number, overrides: Partial<DriftCheckSummary> = {}): DriftCheckSummary {
  const breach = n >= 3;
  return {
    checkId: `epoch-${n}`,
    at: new Date(Date.UTC(2026, 10, 30, 12, n * 5)).toISOString(),
    status: breach ? 'breach' : 'ok',
    breach,
    reasons: breach ? [`data drift: ${n} of 4 features drifted`] : [],
    championVersion: 1,
    reference: 'v-abc',
    samples: 600 + n,
    drift: {
      drifted: breach,
      share: breach ? 0.75 : 0.25,
      driftShare: 0.5,
      compared: 4,
      driftedFeatures: breach ? ['distance', 'hour', 'origin'] : ['hour'],
      summary: '',
    },
    slo: { samples: 600, p99LatencyMs: 12 + n, errorRate: 0, labels: 300, auc: 0.7 - n / 100, positiveRate: 0.2, task: 'binary' },
    reportUri: `s3://bucket/monitoring/m/epoch-${n}/drift.json`,
    htmlUri: `s3://bucket/monitoring/m/epoch-${n}/drift.html`,
    ...overrides,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-console-live-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  app = Fastify();
  ctx = stubContext();
  registerActionRoutes(app, ctx);
  registerRolloutRoutes(app, ctx);
  registerDriftRoutes(app, ctx);
  registerApprovalRoutes(app, ctx);
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  calls = [];
  workflows = new Map();
  listed = [];
});

describe('console actions', () => {
  it('refuse without an admin (401), before touching Temporal', async () => {
    workflows.set('model/m', {});
    for (const url of ['/api/models/m/approve', '/api/models/m/rollouts/2/pause', '/api/models/m/monitor/check-now']) {
      const res = await post(url, { reason: 'ok' }, false);
      expect(res.statusCode, url).toBe(401);
    }
    expect(calls).toEqual([]);
  });

  it('refuse a blank or missing reason (400) and a body that is not JSON (415)', async () => {
    workflows.set('model/m', {});
    workflows.set('rollout/m/v2', {});
    for (const [url, body] of [
      ['/api/models/m/approve', { reason: '   ' }],
      ['/api/models/m/reject', {}],
      ['/api/models/m/rollouts/2/pause', { reason: '' }],
      ['/api/models/m/rollouts/2/abort', { reason: 'x'.repeat(501) }],
      // Text PostgreSQL cannot store never reaches the Update (lib/contracts/person-text.ts).
      ['/api/models/m/approve', { reason: 'ok\u0000go' }],
    ] as const) {
      const res = await post(url, body);
      expect(res.statusCode, url).toBe(400);
      expect(res.json<{ error: string }>().error).toMatch(/reason/);
    }
    const form = await app.inject({
      method: 'POST',
      url: '/api/models/m/approve',
      headers: { authorization: ADMIN, 'content-type': 'text/plain' },
      payload: 'reason=x',
    });
    expect(form.statusCode).toBe(415);
    expect(calls).toEqual([]);
  });

  it('approve runs the lifecycle Update as console:<key name> with the trimmed reason', async () => {
    workflows.set('model/m', { update: () => ({ decision: 'approved', cycle: 3, version: 4 }) });
    const res = await post('/api/models/m/approve', { reason: '  looks good  ' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ ok: true, message: 'v4 approved' });
    expect(calls).toEqual([
      { workflowId: 'model/m', kind: 'update', name: 'approve', args: [{ actor: 'console:alice', reason: 'looks good' }] },
    ]);
  });

  it("a validator's refusal is 409 with the validator's message", async () => {
    const refusal = ApplicationFailure.create({ message: 'no approval is pending for m', nonRetryable: true });
    workflows.set('model/m', {
      update: () => {
        throw new WorkflowUpdateFailedError('Workflow Update failed', refusal);
      },
    });
    const res = await post('/api/models/m/approve', { reason: 'ship it' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({ error: 'no approval is pending for m' });
  });

  it('a workflow that does not exist is 404; an unreachable Temporal is 503', async () => {
    const missing = await post('/api/models/m/rollouts/7/pause', { reason: 'look' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: string }>().error).toBe('rollout/m/v7 is not running (it finished, or never started)');

    const unavailable = Object.assign(new Error('14 UNAVAILABLE: No connection established'), {
      code: grpcStatus.UNAVAILABLE,
      details: '',
      metadata: {},
    });
    workflows.set('rollout/m/v2', {
      update: () => {
        throw new ServiceError('Failed to update workflow', { cause: unavailable });
      },
    });
    const down = await post('/api/models/m/rollouts/2/resume', {});
    expect(down.statusCode).toBe(503);
    expect(down.json<{ error: string }>().error).toMatch(/Temporal is unreachable/);
  });

  it('pause, resume and abort reach the rollout with the actor; check-now signals the monitor', async () => {
    workflows.set('rollout/m/v2', { update: (name) => ({ state: name === 'pause' ? 'paused' : 'running' }) });
    workflows.set('monitor/m', {});
    expect((await post('/api/models/m/rollouts/2/pause', { reason: 'dashboard' })).statusCode).toBe(200);
    expect((await post('/api/models/m/rollouts/2/resume', {})).statusCode).toBe(200);
    expect((await post('/api/models/m/rollouts/2/abort', { reason: 'wrong build' })).statusCode).toBe(200);
    expect((await post('/api/models/m/monitor/check-now', {})).statusCode).toBe(200);
    expect(calls.map((c) => [c.workflowId, c.name, c.args])).toEqual([
      ['rollout/m/v2', 'pause', [{ actor: 'console:alice', reason: 'dashboard' }]],
      ['rollout/m/v2', 'resume', [{ actor: 'console:alice' }]],
      ['rollout/m/v2', 'abort', [{ actor: 'console:alice', reason: 'wrong build' }]],
      ['monitor/m', 'checkNow', [{ reason: 'asked by console:alice' }]],
    ]);
  });

  it('setState pauses the lifecycle with the actor and reason; an unknown state is 400', async () => {
    workflows.set('model/m', { update: () => ({ state: 'paused', previous: 'active', changed: true }) });
    const res = await post('/api/models/m/state', { state: 'paused', reason: 'holiday freeze' });
    expect(res.json()).toMatchObject({ ok: true, message: 'model/m is paused' });
    expect(calls).toEqual([
      {
        workflowId: 'model/m',
        kind: 'update',
        name: 'setState',
        args: [{ state: 'paused', actor: 'console:alice', reason: 'holiday freeze' }],
      },
    ]);
    expect((await post('/api/models/m/state', { state: 'asleep', reason: 'x' })).json()).toEqual({
      error: 'state must be active, paused or retired',
    });
    const forms = lifecycleStateForms('m', 'paused').value;
    expect(forms).toContain('value="active"');
    expect(forms).toContain('value="retired"');
    expect(forms).not.toContain('value="paused"');
  });

  it('a bad version in the path is 400', async () => {
    expect((await post('/api/models/m/rollouts/zero/pause', { reason: 'x' })).statusCode).toBe(400);
  });
});

describe('drift page', () => {
  it('charts the stored checks as SVG, lists the alerts with their report links, and the monitor status', async () => {
    for (let n = 1; n <= 4; n++) await recordCheck(db, 'm-drift', check(n));
    await recordCheck(db, 'other', check(9));
    workflows.set('monitor/m-drift', {
      query: (): Partial<DriftMonitorStatus> => ({
        model: 'm-drift',
        phase: 'waiting',
        nextCheckAt: '2026-11-30T13:00:00.000Z',
        notAlertingBecause: { code: 'cooldown', message: 'alerted at 12:15; cooldown until 13:15' },
        state: { checks: 4, alerts: 1, armed: false, epoch: 'epoch', consecutiveBreaches: 2, consecutiveClears: 0 },
        monitor: { interval: '5m', window: '1h', slo: { minAuc: 0.65, minLabels: 200 } } as DriftMonitorStatus['monitor'],
      }),
    });
    workflows.set('model/m-drift', {
      query: (): Partial<LifecycleStatus> => ({
        history: [
          {
            cycle: 2,
            workflowId: 'cycle/m-drift/2',
            stage: 'promoted',
            startedAt: '2026-11-30T12:20:00Z',
            triggers: [{ kind: 'drift', eventId: 'drift/m-drift/epoch/4', detail: 'data drift: 3 of 4', at: '2026-11-30T12:20:00Z' }],
          },
          { cycle: 1, workflowId: 'cycle/m-drift/1', stage: 'promoted', startedAt: '2026-11-30T11:00:00Z', triggers: [] },
        ],
        current: null,
      }),
    });
    const res = await app.inject({ method: 'GET', url: '/models/m-drift/drift', headers: { authorization: ADMIN } });
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body.match(/<svg/g)?.length).toBe(6);
    expect(body).toContain('Drifted feature share');
    expect(body).toContain('Checks over time (4)');
    // Two breaching checks, newest first, each with its presigned report link.
    const alerts = body.slice(body.indexOf('Alerts'), body.indexOf('Cycles triggered'));
    expect(alerts.match(/class="breach"/g)?.length).toBe(2);
    expect(alerts.indexOf('epoch-4/drift.html')).toBeLessThan(alerts.indexOf('epoch-3/drift.html'));
    expect(body).toContain('http://s3/bucket/monitoring/m/epoch-4/drift.html?sig');
    expect(body).toContain('cycle/m-drift/2');
    expect(body).not.toContain('cycle/m-drift/1<');
    expect(body).toContain('cooldown until 13:15');
    expect(body).toContain('action="/api/models/m-drift/monitor/check-now"');
    expect(body).not.toContain('epoch-9');
  });

  it('leaves out an SLO no check measured and says which', async () => {
    const noLabels = check(1);
    noLabels.slo = { ...noLabels.slo, labels: 0, auc: null };
    await recordCheck(db, 'm-nolabels', noLabels);
    const res = await app.inject({ method: 'GET', url: '/models/m-nolabels/drift' });
    expect(res.body.match(/<svg/g)?.length).toBe(5);
    expect(res.body).toContain('Not measured by any check yet: Online AUC.');
  });

  it('says so when nothing was checked, and shows no action without an admin', async () => {
    const res = await app.inject({ method: 'GET', url: '/models/nothing/drift' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('No checks recorded yet');
    expect(res.body).toContain('No drift monitor is running');
    expect(res.body).not.toContain('check-now');
  });
});

describe('rollout page', () => {
  const input: RolloutInput = {
    model: 'm',
    challenger: 2,
    plan: {
      steps: [
        { shadow: true, weight: 0, hold: '30s' },
        { shadow: false, weight: 25, hold: '60s' },
      ],
      analysis: {},
    } as unknown as RolloutInput['plan'],
    approvedBy: 'console:alice',
    reason: 'cycle 2 approved',
  };
  const arm = (version: number, samples: number, auc: number) => ({
    version,
    shadow: false,
    samples,
    errors: 0,
    errorRate: 0,
    p99LatencyMs: 9.5,
    auc,
  });
  const analysis = {
    verdict: 'pass',
    reasons: ['challenger holds up'],
    window: { since: '2026-11-30T12:00:00.000Z', until: '2026-11-30T12:00:15.000Z' },
    champion: arm(1, 140, 0.7),
    challenger: arm(2, 41, 0.72),
  } as unknown as StepAnalysis;
  const status: RolloutStatus = {
    model: 'm',
    challenger: 2,
    champion: 1,
    state: 'running',
    step: 1,
    steps: 2,
    heldMs: 12_000,
    checks: 3,
    runs: 1,
  };

  it('shows the steps with their traffic shares, the analyses from the history, and the controls for an admin', async () => {
    workflows.set('rollout/m/v2', {
      query: () => status,
      history: [
        { eventId: 1, workflowExecutionStartedEventAttributes: { input: { payloads: [payload(input)] } } },
        { eventId: 5, activityTaskScheduledEventAttributes: { activityType: { name: 'analyzeRolloutStep' } } },
        { eventId: 7, activityTaskCompletedEventAttributes: { scheduledEventId: 5, result: { payloads: [payload(analysis)] } } },
        { eventId: 8, activityTaskScheduledEventAttributes: { activityType: { name: 'setRolloutRoute' } } },
        { eventId: 9, activityTaskCompletedEventAttributes: { scheduledEventId: 8, result: { payloads: [payload({ ok: true })] } } },
      ],
    });
    const res = await app.inject({ method: 'GET', url: '/models/m/rollout?version=2', headers: { authorization: ADMIN } });
    expect(res.statusCode).toBe(200);
    const body = res.body;
    expect(body).toContain('data-state="running"');
    expect(body).toContain('2 of 2, held 12 s');
    expect(body).toContain('shadow (mirror)');
    expect(body).toContain('25%');
    expect(body).toContain('<svg');
    expect(body).toContain('data-refresh-ms="3000"');
    const analyses = body.slice(body.indexOf('<table class="analyses">'));
    expect(analyses.match(/<tr>/g)?.length).toBe(2); // header + one analysis (the route call is not one)
    expect(analyses).toContain('0.720 / 0.700');
    expect(body).toContain('action="/api/models/m/rollouts/2/pause"');
    expect(body).toContain('action="/api/models/m/rollouts/2/abort"');
    expect(body).not.toContain('/resume"');

    const byPath = await app.inject({ method: 'GET', url: '/models/m/rollouts/2', headers: { authorization: ADMIN } });
    expect(byPath.body).toContain('2 of 2, held 12 s');
    const anonymous = await app.inject({ method: 'GET', url: '/models/m/rollout?version=2' });
    expect(anonymous.body).not.toContain('/rollouts/2/pause');
  });

  it('finds the newest rollout in visibility when no version is asked; says so when there is none', async () => {
    workflows.set('rollout/m/v2', {
      query: () => ({ ...status, state: 'paused', pausedBy: 'console:alice: look' }),
      history: [],
      status: 'RUNNING',
    });
    listed = [{ workflowId: 'rollout/m/v2', model: 'm' }];
    const found = await app.inject({ method: 'GET', url: '/models/m/rollout', headers: { authorization: ADMIN } });
    expect(found.body).toContain('data-state="paused"');
    expect(found.body).toContain('console:alice: look');
    expect(found.body).toContain('/rollouts/2/resume"');
    listed = [];
    const none = await app.inject({ method: 'GET', url: '/models/m/rollout' });
    expect(none.body).toContain('No rollout of m was found');
    expect((await app.inject({ method: 'GET', url: '/models/m/rollout?version=-1' })).statusCode).toBe(400);
  });
});

describe('approvals page', () => {
  it('lists the lifecycles waiting with the pending metrics beside the champion and the forms (admins only)', async () => {
    listed = [
      { workflowId: 'model/m-approve', model: 'm-approve' },
      { workflowId: 'model/m-stale', model: 'm-stale' },
    ];
    workflows.set('model/m-approve', {
      query: () => ({
        pendingApproval: {
          cycle: 2,
          cycleWorkflowId: 'cycle/m-approve/2',
          version: 2,
          requestedAt: '2026-11-30T12:00:00Z',
          deadline: '2026-12-01T12:00:00Z',
          default: 'reject',
          metrics: { auc: 0.74 },
        },
      }),
    });
    // Visibility lags: a lifecycle listed as waiting whose Query says nothing is pending is left out.
    workflows.set('model/m-stale', { query: () => ({ pendingApproval: null }) });
    const res = await app.inject({ method: 'GET', url: '/approvals', headers: { authorization: ADMIN } });
    expect(res.body).toContain('m-approve');
    expect(res.body).not.toContain('m-stale');
    expect(res.body).toContain('0.7400');
    expect(res.body).toContain('champion v1');
    expect(res.body).toContain('then <strong>reject</strong> by default');
    expect(res.body).toContain('action="/api/models/m-approve/approve"');
    const anonymous = await app.inject({ method: 'GET', url: '/approvals' });
    expect(anonymous.body).not.toContain('/approve"');

    // The model page's panel: the same section for a waiting model, nothing for another.
    expect((await modelApprovalPanel(ctx, 'm-approve', true)).value).toContain('action="/api/models/m-approve/approve"');
    expect((await modelApprovalPanel(ctx, 'm-stale', true)).value).toBe('');
    expect((await modelApprovalPanel(ctx, 'm-missing', true)).value).toBe('');
  });
});
