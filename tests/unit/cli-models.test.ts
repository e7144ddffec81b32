// `flywheel models` on the embedded defaults (built-in registry in PGlite).
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', 'models', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir, FLYWHEEL_ACTOR: 'cli-test' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-cli-models-'));
  const { db } = await openDatabase(loadConfig('cli', { FLYWHEEL_DATA_DIR: dataDir }).database);
  const registry = new BuiltinRegistry(db);
  for (const run of ['run-a', 'run-b']) {
    await registry.createVersion({
      model: 'flights-delay',
      runId: run,
      artifactUri: `file:///models/${run}/model.onnx`,
      lineage: { datasetVersion: `v-${run}`, featureSpecHash: 'h', params: {} },
      metrics: { rocAuc: run === 'run-a' ? 0.7 : 0.72 },
      gateReportUri: `file:///models/${run}/gates.json`,
      tags: { 'flywheel.report': `file:///models/${run}/report.html` },
    });
  }
  await db.close();
}, 60_000);

describe('flywheel models', () => {
  it('refuses a version beyond what the registry can hold with a plain message, not a database error', () => {
    const res = flywheel('report', 'flights-delay', '99999999999');
    expect(res.status).toBe(1);
    expect(res.stderr).toContain('version must be an integer from 1 to 2147483647, got "99999999999"');
    expect(res.stderr).not.toMatch(/out of range for type/);
  }, 60_000);

  it('lists models and versions', () => {
    const list = flywheel('list');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/flights-delay\s+2\s+-/);
    const versions = flywheel('versions', 'flights-delay');
    expect(versions.stdout).toMatch(/v2\s+-\s+0\.7200\s+v-run-b\s+run-b/);
    expect(versions.stdout).toMatch(/v1\s+-\s+0\.7000\s+v-run-a\s+run-a/);
  }, 60_000);

  it('promotes, rolls back, and shows the whole history', () => {
    expect(flywheel('promote', 'flights-delay', '1', '--reason', 'first').stdout).toContain(
      'flights-delay@champion: (none) → v1 by cli-test (first)',
    );
    expect(flywheel('promote', 'flights-delay', '2', '--reason', 'better').stdout).toContain('v1 → v2');
    expect(flywheel('rollback', 'flights-delay', '--reason', 'latency').stdout).toContain(
      'flights-delay@champion: v2 → v1 by cli-test (latency)',
    );
    const show = flywheel('show', 'flights-delay');
    expect(show.stdout).toMatch(/champion=v1/);
    const moves = show.stdout.split('\n').filter((l) => / champion /.test(l));
    expect(moves).toHaveLength(3);
    expect(moves[2]).toMatch(/champion\s+v2\s+v1\s+cli-test\s+latency/);
  }, 60_000);

  it('prints where the reports are, and names what is missing', () => {
    expect(flywheel('report', 'flights-delay', '2').stdout).toMatch(/Evaluation report\s+file:\/\/\/models\/run-b\/report\.html/);
    const missing = flywheel('show', 'nope');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('model "nope" is not registered');
    expect(flywheel('promote', 'flights-delay', '9', '--reason', 'x').stderr).toContain('has no version 9');
  }, 60_000);

  it('--json: one JSON document on stdout for every read command', () => {
    const json = (...args: string[]) => {
      const res = flywheel(...args, '--json');
      expect(res.status, res.stderr).toBe(0);
      return JSON.parse(res.stdout) as unknown;
    };
    expect(json('list')).toEqual([expect.objectContaining({ name: 'flights-delay', latestVersion: 2, aliases: { champion: 1 } })]);
    const shown = json('show', 'flights-delay') as { name: string; history: { alias: string; toVersion: number; reason: string }[] };
    expect(shown.name).toBe('flights-delay');
    expect(shown.history.map((h) => [h.alias, h.toVersion, h.reason])).toEqual(expect.arrayContaining([['champion', 1, 'latency']]));
    const versions = json('versions', 'flights-delay') as { version: number; runId: string; metrics: { rocAuc: number } }[];
    expect(versions.map((v) => [v.version, v.runId, v.metrics.rocAuc])).toEqual([
      [2, 'run-b', 0.72],
      [1, 'run-a', 0.7],
    ]);
    expect(json('report', 'flights-delay', '2')).toEqual({
      model: 'flights-delay',
      version: 2,
      evaluationReportUri: 'file:///models/run-b/report.html',
      gateReportUri: 'file:///models/run-b/gates.json',
      artifactUri: 'file:///models/run-b/model.onnx',
    });
  }, 60_000);
});
