// `flywheel ci` as a user runs it, on the weather example (multiclass, ~2,900 rows, the fastest):
// the whole pipeline on a sample passes (exit 0, every step, the gates, the serving contract and
// the reports kept with --out); a gate it cannot pass fails it (exit 1, the gate, its limit and
// value named); a malformed spec exits 2 naming the field. No servers: everything runs in process.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CI_STEPS, type CiReport } from '../../lib/ci/report.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const example = join(root, 'examples/weather/model.yaml');
let dir: string;

function flywheel(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['bin/flywheel.js', 'ci', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TMPDIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** The weather example with its relative paths made absolute and `change` applied. */
async function weatherSpec(name: string, change: (spec: Record<string, unknown>) => void): Promise<string> {
  const spec = parse(await readFile(example, 'utf8')) as { data: { source: { uri: string }; validation: unknown }; features: unknown };
  const folder = join(root, 'examples/weather');
  spec.data.source.uri = join(root, 'node_modules/vega-datasets/data/weather.csv');
  spec.data.validation = join(folder, 'validation.yaml');
  spec.features = join(folder, 'features.yaml');
  change(spec as unknown as Record<string, unknown>);
  const path = join(dir, name);
  await writeFile(path, stringify(spec));
  return path;
}

type Run = Awaited<ReturnType<typeof flywheel>>;
let passing: Promise<Run>;
let failing: Promise<Run>;
let malformed: Promise<Run>;
let out: string;

// The three runs start together: each CLI process spends most of its time starting (modules, the
// embedded database), so in parallel they finish well within the budget of one file.
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-ci-test-'));
  out = join(dir, 'reports');
  passing = flywheel(example, '--json', '--out', out, '--sample-rows', '1500');
  const impossible = await weatherSpec('impossible.yaml', (s) => ((s.gates as Record<string, number>).minAccuracy = 0.999));
  failing = flywheel(impossible, '--sample-rows', '1500');
  const bad = await weatherSpec('malformed.yaml', (s) => {
    s.name = 'Weather Model';
    (s.trainer as { hyperparameters: Record<string, unknown> }).hyperparameters.epochs = 0;
  });
  malformed = flywheel(bad);
  // Settled here too, so a failing test never leaves a run unobserved.
  for (const run of [passing, failing, malformed]) run.catch(() => undefined);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('flywheel ci', () => {
  it('runs the pipeline on a sample of the example and passes: every step, the gates, the serving contract', async () => {
    const { status, stdout, stderr } = await passing;
    expect(status, stderr).toBe(0);
    const report = JSON.parse(stdout) as CiReport;
    expect(report).toMatchObject({ model: 'weather', task: 'multiclass', trainer: 'tfjs-mlp', passed: true, sample: { rows: 1500 } });
    expect(report.steps.map((s) => [s.name, s.status])).toEqual(CI_STEPS.map((s) => [s, 'passed']));
    expect(report.gates.map((g) => g.name).sort()).toEqual(['minAccuracy', 'minMacroF1']);
    expect(report.gates.every((g) => g.passed && g.observed !== null)).toBe(true);
    expect(report.metrics.accuracy).toBeGreaterThan(0.75);
    expect(report.contract).toMatchObject({ instances: 16, fields: ['class', 'probabilities'], problems: [] });
    expect(report.contract?.example).toMatchObject({ version: 1, cached: false });
    // Progress goes to stderr with --json, a line per step.
    for (const step of CI_STEPS) expect(stderr).toContain(`✓ ${step}:`);
    // --out keeps the report (JSON and text) and the steps' own reports.
    const kept = JSON.parse(await readFile(join(out, 'ci-report.json'), 'utf8')) as CiReport;
    expect(kept.passed).toBe(true);
    expect(await readFile(join(out, 'ci-report.txt'), 'utf8')).toContain('PASSED');
    expect(await readFile(join(out, 'evaluation-report.html'), 'utf8')).toContain('<html');
    expect(Object.keys(kept.artifacts).sort()).toEqual(['evaluation-report', 'gates', 'metrics', 'validation-report']);
  }, 60_000);

  it('exits 1 when a quality gate cannot pass, naming the gate, its limit and the value', async () => {
    const { status, stdout, stderr } = await failing;
    expect(status, stderr).toBe(1);
    expect(stdout).toMatch(/✗ minAccuracy\s+limit 0\.999\s+observed 0\.\d+/);
    expect(stdout).toMatch(/FAILED at evaluate \[QualityGateFailed\]: 1\/2 gates passed — failed: accuracy 0\.\d+ < min 0\.999/);
    // Nothing after a failed step runs: it is not registered or served.
    expect(stdout).toMatch(/- register\s+not run/);
    expect(stdout).toMatch(/- serve\s+not run/);
  }, 60_000);

  it('exits 2 for a malformed spec, naming each bad field', async () => {
    const { status, stdout, stderr } = await malformed;
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('name: lower-case letters, digits');
    expect(stderr).toContain('trainer.hyperparameters.epochs');
  }, 60_000);
});
