// `flywheel dev` as a user runs it: it starts, the Web UI answers, and Ctrl-C leaves nothing.
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getInfra } from './infra.ts';
import { descendants, isAlive, startDevStack } from './processes.ts';

const infra = getInfra();

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('flywheel dev', () => {
  it('starts the embedded stack (with --serve, the inference server too), serves the Web UI, and stops cleanly on Ctrl-C', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flywheel-dev-'));
    const { dev, port, uiPort, servePort } = await startDevStack({
      dataDir,
      temporalCliPath: infra.temporalCliPath,
      serve: true,
      timeoutMs: 120_000,
    });
    try {
      expect(dev.output()).toContain(`Web UI      http://127.0.0.1:${uiPort}`);
      expect(dev.output()).toMatch(/CPU worker .* ran a probe on flywheel-cpu/);
      expect(dev.output()).toMatch(/GPU worker .* ran a probe on flywheel-gpu/);
      expect(dev.output()).toMatch(/Control\s+flywheel-control@\S+ on flywheel-control \(8 slots of its own\)/);
      // Training runs off this process: the GPU worker is a child process of its own.
      const gpuPid = Number(/GPU worker\s+flywheel-gpu@[^:\s]+:(\d+)/.exec(dev.output())?.[1]);
      expect(gpuPid).not.toBe(dev.child.pid);
      expect(descendants(dev.child.pid!)).toContain(gpuPid);

      const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toMatch(/<html/i);

      // The inference server shares the stack's PGlite; it hands out a key since no other
      // process can open that database while dev runs.
      const key = /API key\s+(fw_\S+)/.exec(dev.output())?.[1];
      expect(key, dev.output()).toBeTruthy();
      expect((await fetch(`http://127.0.0.1:${servePort}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${servePort}/v1/models`)).status).toBe(401);
      const models = await fetch(`http://127.0.0.1:${servePort}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      expect(await models.json()).toEqual({ models: [] });
      expect((await fetch(`http://127.0.0.1:${servePort}/readyz`)).status).toBe(503); // no champion yet

      // The web console runs in this process too, on the same PGlite; the serving key (admin
      // scope) signs in to it.
      const consoleUrl = /Console\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(dev.output())?.[1];
      expect(consoleUrl, dev.output()).toBeTruthy();
      const consolePage = await fetch(`${consoleUrl}/`);
      expect(consolePage.status).toBe(200);
      expect(await consolePage.text()).toContain(`http://127.0.0.1:${uiPort}/namespaces/default/workflows`);
      const signIn = await fetch(`${consoleUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { origin: consoleUrl!, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ key: key! }),
      });
      expect(signIn.status).toBe(303);

      const children = descendants(dev.child.pid!);
      expect(children.length).toBeGreaterThan(0); // the Temporal server at least

      dev.child.kill('SIGINT');
      const exit = await dev.exited;
      expect(exit, dev.output()).toEqual({ code: 0, signal: null });
      expect(dev.output()).toContain('Stopped.');
      await new Promise((r) => setTimeout(r, 500));
      expect(children.filter(isAlive)).toEqual([]);
      expect(await portOpen(port)).toBe(false);
      expect(await portOpen(uiPort)).toBe(false);
      expect(await portOpen(servePort)).toBe(false);
      expect(await portOpen(Number(new URL(consoleUrl!).port))).toBe(false);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    }
  }, 180_000);

  it('stops the whole stack, exiting non-zero with its last log lines, when the GPU worker process dies', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flywheel-dev-'));
    const { dev, port } = await startDevStack({ dataDir, temporalCliPath: infra.temporalCliPath, timeoutMs: 120_000 });
    try {
      const gpuPid = Number(/GPU worker\s+flywheel-gpu@[^:\s]+:(\d+)/.exec(dev.output())?.[1]);
      const children = descendants(dev.child.pid!);
      expect(children).toContain(gpuPid);
      process.kill(gpuPid, 'SIGKILL');
      const exit = await dev.exited;
      expect(exit, dev.output()).toEqual({ code: 1, signal: null });
      expect(dev.output()).toContain(`the GPU worker process (pid ${gpuPid}) exited with SIGKILL`);
      expect(dev.output()).toContain(join(dataDir, 'logs', 'worker-gpu.log'));
      await new Promise((r) => setTimeout(r, 500));
      expect(children.filter(isAlive)).toEqual([]);
      expect(await portOpen(port)).toBe(false);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    }
  }, 180_000);
});
