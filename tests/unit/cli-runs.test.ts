// `flywheel runs` on the embedded defaults (PGlite in FLYWHEEL_DATA_DIR): what a user sees.
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatCompare, formatRun, formatRunList } from '../../cli/commands/runs.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { openDatabase } from '../../lib/db/index.ts';
import { linkRunVersion, recordRun, type NewTrainingRun, type TrainingRunRecord } from '../../lib/tracking/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dataDir: string;

function flywheel(...args: string[]) {
  return spawnSync(process.execPath, ['bin/flywheel.js', 'runs', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', FLYWHEEL_DATA_DIR: dataDir },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const base: NewTrainingRun = {
  runId: 'training/flights-delay/2001-01/1',
  model: 'flights-delay',
  datasetVersion: '2001-01',
  trainer: 'tfjs-mlp',
  status: 'passed',
  params: { hidden: [16, 8], learningRate: 0.001, compression: { prune: { sparsity: 0.5 } } },
  metrics: { rocAuc: 0.7123, logLoss: 0.45 },
  epochs: [
    { epoch: 0, metrics: { loss: 0.52, valLoss: 0.5 } },
    { epoch: 1, metrics: { loss: 0.47, valLoss: 0.48 } },
  ],
  system: {
    identity: 'flywheel-gpu@host-a:42',
    hostname: 'host-a',
    platform: 'linux',
    arch: 'x64',
    node: 'v20.20.2',
    cpus: 16,
    cpuModel: 'AMD EPYC',
    memoryMb: 131072,
    backend: 'tfjs-tensorflow',
    gpus: ['NVIDIA H200'],
  },
  artifacts: { model: 's3://flywheel/r1/model.onnx', gateReport: 's3://flywheel/r1/evaluation/gates.json' },
  summary: '2/2 gates passed',
  startedAt: '2026-11-30T10:00:00.000Z',
};
const second: NewTrainingRun = {
  ...base,
  runId: 'training/flights-delay/2001-02/2',
  datasetVersion: '2001-02',
  status: 'failed',
  params: { ...base.params, learningRate: 0.01 },
  metrics: { rocAuc: 0.64, logLoss: 0.45 },
  summary: 'AUC 0.640 < min 0.650',
};

const asRecord = (r: NewTrainingRun, extra: Partial<TrainingRunRecord> = {}): TrainingRunRecord => ({
  ...r,
  version: null,
  mlflowRunId: null,
  recordedAt: '2026-11-30T10:05:00.000Z',
  ...extra,
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flywheel-cli-runs-'));
  const { db } = await openDatabase(loadConfig('cli', { FLYWHEEL_DATA_DIR: dataDir }).database);
  await recordRun(db, base);
  await linkRunVersion(db, base.runId, 3, 'a'.repeat(32));
  await recordRun(db, second);
  await db.close();
}, 60_000);

describe('flywheel runs output', () => {
  it('lists runs with status, version, dataset, trainer and the headline metric', () => {
    const out = formatRunList([asRecord(second), asRecord(base, { version: 3 })]);
    expect(out).toMatch(/^RUN\s+MODEL\s+STATUS\s+VERSION\s+DATASET\s+TRAINER\s+METRIC\s+EPOCHS\s+RECORDED$/m);
    expect(out).toMatch(/training\/flights-delay\/2001-01\/1\s+flights-delay\s+passed\s+v3\s+2001-01\s+tfjs-mlp\s+rocAuc=0\.7123\s+2/);
    expect(out).toMatch(/2001-02\/2\s+flights-delay\s+failed\s+-\s+/);
    expect(formatRunList([])).toBe('No training runs recorded yet.');
  });

  it('shows one run: params flattened, an epochs table, system and artifacts', () => {
    const out = formatRun(asRecord(base, { version: 3, mlflowRunId: 'abc' }));
    expect(out).toMatch(/Version\s+v3/);
    expect(out).toMatch(/MLflow run\s+abc/);
    expect(out).toMatch(/compression\.prune\.sparsity\s+0\.5/);
    expect(out).toMatch(/hidden\s+\[16,8\]/);
    expect(out).toMatch(/EPOCH\s+loss\s+valLoss\n-+\s+-+\s+-+\n0\s+0\.52\s+0\.5\n1\s+0\.47\s+0\.48/);
    expect(out).toMatch(/GPUs\s+NVIDIA H200/);
    expect(out).toMatch(/gateReport\s+s3:\/\/flywheel\/r1\/evaluation\/gates\.json/);
  });

  it('compares side by side and marks what differs', () => {
    const out = formatCompare([asRecord(base), asRecord(second)]);
    expect(out).toMatch(/^\*\s+param learningRate\s+0\.001\s+0\.01$/m);
    expect(out).toMatch(/^\s+param hidden\s+\[16,8\]\s+\[16,8\]$/m);
    expect(out).toMatch(/^\*\s+metric rocAuc\s+0\.7123\s+0\.64$/m);
    expect(out).toMatch(/^\s+metric logLoss\s+0\.45\s+0\.45$/m);
  });
});

describe('flywheel runs (the command)', () => {
  it('lists, shows and compares from the configured database', () => {
    const list = flywheel('list', '--model', 'flights-delay', '--json');
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as TrainingRunRecord[]).map((r) => [r.runId, r.version])).toEqual([
      [second.runId, null],
      [base.runId, 3],
    ]);
    const compare = flywheel('compare', base.runId, second.runId, '--json');
    expect(compare.status, compare.stderr).toBe(0);
    expect(JSON.parse(compare.stdout).differences).toEqual({ params: ['learningRate'], metrics: ['rocAuc'] });
  }, 60_000);

  it('names a run it does not know, and refuses a compare of one run', () => {
    const missing = flywheel('show', 'no/such/run');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('no training run recorded with id "no/such/run"');
    const one = flywheel('compare', base.runId);
    expect(one.status).toBe(1);
    expect(one.stderr).toContain('compare needs at least two run ids');
  }, 60_000);
});
