// `flywheel demo --quick` as a user runs it: the whole loop finishes and does what the README
// promises — v1 and v2 promoted through the rollout, the drift monitor starts a cycle of its own,
// no replayed request fails — and with --keep-running the printed key and curl line work.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { DemoSummary } from '../../cli/demo/summary.ts';
import { getInfra } from './infra.ts';
import { descendants, freePort, isAlive, spawnNode } from './processes.ts';

const infra = getInfra();

describe('flywheel demo --quick', () => {
  it(
    'runs the loop end to end: v1 and v2 promoted through the rollout, a drift-triggered cycle, no failed request; the kept stack answers the printed curl',
    async () => {
      const [port, uiPort, servePort] = [await freePort(), await freePort(), await freePort()];
      const dataDir = await mkdtemp(join(tmpdir(), 'flywheel-demo-'));
      const summaryPath = join(dataDir, 'summary.json');
      const demo = spawnNode(
        [
          'bin/flywheel.js',
          'demo',
          '--quick',
          '--keep-running',
          '--port',
          String(port),
          '--ui-port',
          String(uiPort),
          '--serve-port',
          String(servePort),
          '--json-summary',
          summaryPath,
        ],
        { FLYWHEEL_DATA_DIR: dataDir, TEMPORAL_CLI_PATH: infra.temporalCliPath },
      );
      try {
        await demo.waitFor('Press Ctrl-C to stop.', 8 * 60_000);
        const summary = JSON.parse(await readFile(summaryPath, 'utf8')) as DemoSummary;
        const cycle = (n: number) => summary.cycles.find((c) => c.cycle === n);

        expect(cycle(1), demo.output()).toMatchObject({ stage: 'promoted', version: 1 });
        expect(cycle(2), demo.output()).toMatchObject({ stage: 'promoted', version: 2 });
        expect(cycle(2)!.triggers.map((t) => t.kind)).toContain('new-data');
        // v2 went through every rollout step (v1 had no champion to be compared with).
        const evidenceUri = summary.reports.find(([k]) => k.startsWith('v2 rollout evidence'))?.[1];
        expect(evidenceUri, JSON.stringify(summary.reports)).toMatch(/^file:\/\//);
        const evidence = JSON.parse(await readFile(fileURLToPath(evidenceUri!), 'utf8')) as { outcome: string; steps: unknown[] };
        expect(evidence.outcome).toBe('completed');
        expect(evidence.steps).toHaveLength(3);

        // The monitor's alert started a cycle of its own, which trained and ran its rollout to a verdict.
        const drift = summary.cycles.find((c) => c.cycle > 2 && c.triggers.some((t) => t.kind === 'drift'));
        expect(drift, demo.output()).toBeDefined();
        expect(['promoted', 'rolled-back']).toContain(drift!.stage);

        // Every replayed request was answered (the demo's rate is far below what the server sheds).
        expect(summary.traffic.map((t) => t.source)).toEqual(['2001-03', '2001-05']);
        for (const t of summary.traffic) {
          expect(t.ok, `${t.source}: ${JSON.stringify(t)}`).toBeGreaterThan(500);
          expect(t.failed, `${t.source}: ${JSON.stringify(t.failures)}`).toBe(0);
          expect(t.feedback.failed).toBe(0);
        }
        expect(demo.output()).toMatch(/Flywheel demo finished in \d+\.\d minutes; champion: v\d/);

        // --keep-running: the printed key and curl line reach the model from outside.
        const [, scopes, key] = /API key \(([a-z, ]+)\)\s+(fw_\S+)/.exec(demo.output()) ?? [];
        expect(key, demo.output()).toBeTruthy();
        expect(scopes!.split(', ')).toEqual(expect.arrayContaining(['predict', 'admin']));
        const curl = /Try it:\s+(curl .*)$/m.exec(demo.output())?.[1];
        expect(curl).toContain(`http://127.0.0.1:${servePort}/v1/models/flights-delay/predict`);
        const res = spawnSync('bash', ['-c', curl!], { encoding: 'utf8', timeout: 30_000 });
        expect(res.status, res.stderr).toBe(0);
        const answer = JSON.parse(res.stdout) as { predictions: Array<{ probability: number; version: number }> };
        expect(answer.predictions).toHaveLength(1);
        expect(answer.predictions[0]!.version).toBe(summary.champion);
        const routing = await fetch(`http://127.0.0.1:${servePort}/v1/admin/models/flights-delay/routing`, {
          headers: { authorization: `Bearer ${key}` },
        });
        expect(routing.status).toBe(200);

        // Ctrl-C stops everything, the GPU worker process included.
        const children = descendants(demo.child.pid!);
        expect(children.length).toBeGreaterThan(1); // the Temporal server and the GPU worker at least
        demo.child.kill('SIGINT');
        expect(await demo.exited, demo.output()).toEqual({ code: 0, signal: null });
        await new Promise((r) => setTimeout(r, 500));
        expect(children.filter(isAlive)).toEqual([]);
      } finally {
        if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
      }
    },
    10 * 60_000,
  );
});
