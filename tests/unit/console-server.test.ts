// The console server seen from a browser or a script: the models list, escaping of every value,
// who may act (admin keys only, by Bearer or session), CSRF, the read gate and its error pages.
import type { Client } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiKey, revokeApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { registerVersion, startTestConsole, type TestConsole } from './console-helpers.ts';

let t: TestConsole | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const ORIGIN = 'http://console.test:8288';

describe('console models list', () => {
  it('lists models with champion, lifecycle stage, last cycle and drift', async () => {
    t = await startTestConsole({
      workflows: [
        { workflowId: 'model/churn', type: 'modelLifecycle', stage: 'awaiting-approval', model: 'churn' },
        {
          workflowId: 'cycle/churn/2',
          type: 'modelCycle',
          status: 'COMPLETED',
          stage: 'promoted',
          model: 'churn',
          startTime: new Date('2026-02-01'),
        },
        {
          workflowId: 'cycle/churn/1',
          type: 'modelCycle',
          status: 'FAILED',
          stage: 'gates-failed',
          model: 'churn',
          startTime: new Date('2026-01-01'),
        },
      ],
    });
    await registerVersion(t.registry, 'churn', 1);
    await registerVersion(t.registry, 'churn', 2);
    await t.registry.setAlias('churn', 'champion', 2, { actor: 'ann', reason: 'better' });
    await t.db.query(
      `INSERT INTO monitor_checks (model, check_id, at, status, breach, champion_version, summary) VALUES ('churn', 'c1', now(), 'ok', true, 2, '{"checkId":"c1"}')`,
    );
    const res = await t.console.app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    const row = /<tr data-model="churn">[\s\S]*?<\/tr>/.exec(res.body)?.[0] ?? '';
    expect(row).toContain('>v2</a>');
    expect(row).toContain('awaiting-approval');
    expect(row).toContain('promoted');
    expect(row).toContain('http://127.0.0.1:8233/namespaces/default/workflows/cycle%2Fchurn%2F2');
    expect(row).not.toContain('gates-failed');
    expect(row).toContain('alert');
  });

  it('escapes a model description and tags that hold markup', async () => {
    t = await startTestConsole();
    await t.registry.createModel('xss', '<script>alert(1)</script>');
    await registerVersion(t.registry, 'xss', 1, {
      tags: { note: '<img src=x onerror=alert(2)>' },
      description: '"><script>alert(3)</script>',
    });
    const list = await t.console.app.inject({ url: '/' });
    expect(list.body).not.toContain('<script>alert(1)');
    expect(list.body).toContain('&#60;script&#62;alert(1)');
    const page = await t.console.app.inject({ url: '/models/xss' });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<img src=x');
    expect(page.body).not.toContain('<script>alert(3)');
  });

  it('still renders registry data with a note when Temporal is unreachable', async () => {
    const { stubTemporal } = await import('./console-helpers.ts');
    t = await startTestConsole({ temporal: stubTemporal([], { unreachable: true }) });
    await registerVersion(t.registry, 'offline', 1);
    const res = await t.console.app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('Temporal unreachable');
    expect(res.body).toContain('data-model="offline"');
  });

  it('says where a running cycle is: the lifecycle only says running', async () => {
    t = await startTestConsole({
      workflows: [
        { workflowId: 'model/ads', type: 'modelLifecycle', stage: 'running', model: 'ads' },
        { workflowId: 'cycle/ads/4', type: 'modelCycle', stage: 'rollout', model: 'ads', version: 4 },
      ],
    });
    await registerVersion(t.registry, 'ads', 1);
    const row = /<tr data-model="ads">[\s\S]*?<\/tr>/.exec((await t.console.app.inject({ url: '/' })).body)?.[0] ?? '';
    expect(row).toContain('rolling out');
  });

  it('renders without Temporal when visibility hangs, within its timeout', async () => {
    const { listWorkflows } = await import('../../console/read-model.ts');
    const hanging = {
      workflow: {
        list: () =>
          (async function* () {
            await new Promise(() => undefined);
            yield undefined as never;
          })(),
      },
    } as unknown as Client;
    const started = Date.now();
    const result = await listWorkflows(hanging, `WorkflowType = 'modelLifecycle'`, 10, 200);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toEqual({ rows: [], error: 'Temporal unreachable (no answer in 200 ms)' });
  });

  it('answers 404 with a page for a browser and JSON for a script, and /healthz', async () => {
    t = await startTestConsole();
    const page = await t.console.app.inject({ url: '/nope', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(404);
    expect(page.body).toContain('Not found');
    const json = await t.console.app.inject({ url: '/nope' });
    expect(json.json()).toEqual({ error: 'Nothing at /nope.' });
    expect((await t.console.app.inject({ url: '/healthz' })).json()).toEqual({ ok: true });
  });

  it('answers a failing page with a 500 page that keeps the error to the log', async () => {
    t = await startTestConsole();
    t.console.app.get('/boom', async () => {
      throw new Error('password=hunter2 in a stack');
    });
    const res = await t.console.app.inject({ url: '/boom', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(500);
    expect(res.body).toContain('Server error');
    expect(res.body).not.toContain('hunter2');
    expect(res.headers['x-frame-options']).toBe('DENY');
  });
});

describe('console auth', () => {
  async function withAction(): Promise<TestConsole> {
    const c = await startTestConsole();
    // A test-only action route, the way console-live's actions use requireAdmin.
    c.console.app.post('/test-action', async (req, reply) => {
      const who = await c.console.ctx.requireAdmin(req, reply);
      if (!who) return reply;
      return { ok: true, actor: who.name };
    });
    return c;
  }

  it('refuses actions without a key, with a predict-only key and with a revoked key; allows an admin key', async () => {
    t = await withAction();
    const none = await t.console.app.inject({ method: 'POST', url: '/test-action', payload: {} });
    expect(none.statusCode).toBe(401);
    expect(none.headers['cache-control']).toBe('no-store');
    const predict = await createApiKey(t.db, { name: 'app', scopes: ['predict'] });
    const p = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { authorization: `Bearer ${predict.key}` },
      payload: {},
    });
    expect(p.statusCode).toBe(403);
    expect(p.json().error).toContain('lacks the admin scope');
    const admin = await createApiKey(t.db, { name: 'ops', scopes: ['admin'] });
    const ok = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { authorization: `Bearer ${admin.key}` },
      payload: {},
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ ok: true, actor: 'ops' });
    await revokeApiKey(t.db, admin.info.id);
    const revoked = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { authorization: `Bearer ${admin.key}` },
      payload: {},
    });
    expect(revoked.statusCode).toBe(403);
    expect(revoked.json().error).toContain('revoked');
  });

  it('signs in with a pasted key, acts by session cookie from its own origin only, and signs out', async () => {
    t = await withAction();
    const admin = await createApiKey(t.db, { name: 'ops', scopes: ['admin'] });
    const login = await t.console.app.inject({
      method: 'POST',
      url: '/login',
      headers: { origin: ORIGIN, host: 'console.test:8288', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ key: admin.key, next: '/models/x' }).toString(),
    });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/models/x');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    expect(setCookie).not.toContain(admin.key);
    const cookie = setCookie.split(';')[0]!;

    const same = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie, origin: ORIGIN, host: 'console.test:8288' },
      payload: {},
    });
    expect(same.statusCode).toBe(200);
    const cross = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie, origin: 'http://evil.example', host: 'console.test:8288' },
      payload: {},
    });
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error).toContain('cross-origin');
    const noOrigin = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie, host: 'console.test:8288' },
      payload: {},
    });
    expect(noOrigin.statusCode).toBe(403);

    const page = await t.console.app.inject({ url: '/', headers: { cookie } });
    expect(page.body).toContain('signed in as <strong>ops</strong>');

    await t.console.app.inject({ method: 'POST', url: '/logout', headers: { cookie, origin: ORIGIN, host: 'console.test:8288' } });
    const after = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie, origin: ORIGIN, host: 'console.test:8288' },
      payload: {},
    });
    expect(after.statusCode).toBe(401);
  });

  it('refuses a wrong key at sign-in and a forged or tampered cookie', async () => {
    t = await withAction();
    const predict = await createApiKey(t.db, { name: 'app', scopes: ['predict'] });
    const login = await t.console.app.inject({
      method: 'POST',
      url: '/login',
      headers: { origin: ORIGIN, host: 'console.test:8288', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ key: predict.key, next: '//evil.example' }).toString(),
    });
    expect(login.statusCode).toBe(403);
    expect(login.headers['set-cookie']).toBeUndefined();
    expect(login.body).toContain('lacks the admin scope');
    const forged = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie: `flywheel_console=${predict.info.id}.9999999999999.abc.def`, origin: ORIGIN, host: 'console.test:8288' },
      payload: {},
    });
    expect(forged.statusCode).toBe(401);
  });

  it('ends a session when its key is revoked', async () => {
    t = await withAction();
    const admin = await createApiKey(t.db, { name: 'ops', scopes: ['admin'] });
    const login = await t.console.app.inject({
      method: 'POST',
      url: '/login',
      headers: { origin: ORIGIN, host: 'console.test:8288', 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ key: admin.key }).toString(),
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    await revokeApiKey(t.db, admin.info.id);
    const res = await t.console.app.inject({
      method: 'POST',
      url: '/test-action',
      headers: { cookie, origin: ORIGIN, host: 'console.test:8288' },
      payload: {},
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toContain('revoked');
  });

  it('with reads=login, pages redirect a browser to sign-in and refuse a script', async () => {
    t = await startTestConsole({ settings: { reads: 'login' } });
    const page = await t.console.app.inject({ url: '/models/x', headers: { accept: 'text/html' } });
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/login?next=%2Fmodels%2Fx');
    expect((await t.console.app.inject({ url: '/runs' })).statusCode).toBe(401);
    expect((await t.console.app.inject({ url: '/login' })).statusCode).toBe(200);
    expect((await t.console.app.inject({ url: '/assets/console.css' })).statusCode).toBe(200);
    const admin = await createApiKey(t.db, { name: 'ops', scopes: ['admin'] });
    const ok = await t.console.app.inject({ url: '/', headers: { authorization: `Bearer ${admin.key}` } });
    expect(ok.statusCode).toBe(200);
  });
});

describe('hostile URLs', () => {
  it('answers a NUL byte in a path or query with 400, not a server error', async () => {
    const t = await startTestConsole();
    try {
      for (const url of ['/runs?model=%00', '/runs/%00', '/models/a%00b', '/compare?model=%00&versions=1,2', '/runs/x%2500'])
        expect((await t.console.app.inject({ url })).statusCode, url).toBe(url.includes('%2500') ? 404 : 400);
    } finally {
      await t.close();
    }
  });
});

describe('console configuration', () => {
  it("refuses the example Secret's session-secret placeholder, naming the variable", () => {
    expect(() => loadConfig('console', { FLYWHEEL_CONSOLE_SESSION_SECRET: 'CHANGE-ME-TO-32-OR-MORE-RANDOM-CHARACTERS' })).toThrow(
      /FLYWHEEL_CONSOLE_SESSION_SECRET: is still the example placeholder/,
    );
    expect(loadConfig('console', { FLYWHEEL_CONSOLE_SESSION_SECRET: 'a'.repeat(32) }).console.sessionSecret).toBeDefined();
  });
});
