// The CI pieces that need no pipeline run: the GitHub Actions workflow users copy from
// examples/ci/ parses and runs the steps its README promises, and the serving contract check
// refuses answers of the wrong shape for each task.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkPredictAnswer } from '../../lib/ci/contract.ts';
import { CI_REPORT_FORMAT, renderCiReport, type CiReport } from '../../lib/ci/report.ts';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  'continue-on-error'?: boolean;
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  jobs: Record<string, { 'runs-on': string; steps: Step[]; needs?: string }>;
}

describe('examples/ci/flywheel-ci.yml', () => {
  it('parses, and each job checks out, sets up Node and installs before it runs flywheel', async () => {
    const text = await readFile(new URL('../../examples/ci/flywheel-ci.yml', import.meta.url), 'utf8');
    const workflow = parse(text, { prettyErrors: true }) as Workflow;
    expect(workflow.name).toBe('flywheel-ci');
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    for (const [job, { steps, 'runs-on': runsOn }] of Object.entries(workflow.jobs)) {
      expect(runsOn, job).toBe('ubuntu-latest');
      expect(
        steps.every((s) => typeof s.name === 'string' && s.name.length > 0),
        `${job}: every step is named`,
      ).toBe(true);
      const order = (match: (s: Step) => boolean) => steps.findIndex(match);
      const checkout = order((s) => s.uses?.startsWith('actions/checkout@') ?? false);
      const node = order((s) => s.uses?.startsWith('actions/setup-node@') ?? false);
      const install = order((s) => s.run === 'npm ci');
      const flywheel = order((s) => s.run?.startsWith('npx flywheel ') ?? false);
      expect(
        [checkout, node, install, flywheel].every((i) => i >= 0),
        job,
      ).toBe(true);
      expect(checkout < node && node < install && install < flywheel, `${job}: checkout → setup-node → npm ci → flywheel`).toBe(true);
    }
    const ci = workflow.jobs['model-ci']!.steps.find((s) => s.run?.startsWith('npx flywheel ci '));
    expect(ci?.run).toMatch(/^npx flywheel ci \$\{\{ matrix\.spec \}\} --sample-rows \d+ --out ci-reports$/);
    expect(ci?.['continue-on-error']).toBeUndefined(); // a failed spec fails the check
    const diff = workflow.jobs.drift!.steps.find((s) => s.run?.startsWith('npx flywheel diff'));
    expect(diff).toMatchObject({ run: 'npx flywheel diff -f . --env staging', 'continue-on-error': true }); // informational
    expect(workflow.jobs.drift!.needs).toBe('model-ci');
  });
});

describe('the serving contract check', () => {
  it('accepts answers in the task shape and names what is wrong otherwise', () => {
    const multiclass = { kind: 'multiclass' as const, classes: ['rain', 'sun'] };
    const good = { predictions: [{ class: 'sun', probabilities: { rain: 0.25, sun: 0.75 }, version: 3, cached: false }] };
    expect(checkPredictAnswer(multiclass, 3, 1, good)).toEqual([]);
    expect(checkPredictAnswer(multiclass, 3, 2, good)).toEqual(['1 predictions for 2 instances']);
    expect(
      checkPredictAnswer(multiclass, 3, 1, { predictions: [{ class: 'fog', probabilities: { rain: 0.5, sun: 0.7 }, version: 2 }] }),
    ).toEqual([
      'predictions[0].version: 2, expected 3',
      'predictions[0].class: "fog" is not one of the fitted classes (rain, sun)',
      'predictions[0].probabilities: sum to 1.2000, not 1',
    ]);
    expect(checkPredictAnswer({ kind: 'binary' }, 1, 1, { predictions: [{ probability: 1.5, version: 1 }] })).toEqual([
      'predictions[0].probability: 1.5 is not a probability in [0, 1]',
    ]);
    expect(checkPredictAnswer({ kind: 'regression' }, 1, 1, { predictions: [{ value: null, version: 1 }] })).toEqual([
      'predictions[0].value: null is not a finite number',
    ]);
    expect(checkPredictAnswer({ kind: 'regression' }, 1, 1, { error: 'x' })).toEqual(['the answer has no predictions array']);
  });
});

describe('the CI report', () => {
  it('names the failed step and every gate with its limit and observed value', () => {
    const report: CiReport = {
      format: CI_REPORT_FORMAT,
      spec: 'models/weather.yaml',
      model: 'weather',
      task: 'multiclass',
      trainer: 'tfjs-mlp',
      sample: { requested: 2000, rows: 2000 },
      passed: false,
      steps: [
        { name: 'train', status: 'passed', ms: 1200, summary: '12 epochs' },
        { name: 'evaluate', status: 'failed', ms: 300, summary: 'failed: accuracy 0.873 < min 0.99', failureType: 'QualityGateFailed' },
        { name: 'serve', status: 'skipped', ms: 0, summary: 'not run' },
      ],
      gates: [
        { name: 'minAccuracy', passed: false, skipped: false, observed: 0.87291, limit: 0.99, message: 'accuracy 0.873 < min 0.99' },
        { name: 'minMacroF1', passed: true, skipped: false, observed: 0.4716, limit: 0.3, message: 'macro-F1 0.472 ≥ min 0.3' },
      ],
      metrics: {},
      failure: { step: 'evaluate', message: 'failed: accuracy 0.873 < min 0.99', failureType: 'QualityGateFailed' },
      artifacts: {},
      ms: 9000,
    };
    const text = renderCiReport(report);
    expect(text).toContain('FAILED (weather, multiclass, trainer tfjs-mlp, 2000 sample rows, 9.0 s)');
    expect(text).toContain('✗ minAccuracy  limit 0.99  observed 0.8729  accuracy 0.873 < min 0.99');
    expect(text).toContain('✓ minMacroF1   limit 0.3  observed 0.4716');
    expect(text).toContain('- serve     not run');
    expect(text.split('\n').at(-1)).toBe('FAILED at evaluate [QualityGateFailed]: failed: accuracy 0.873 < min 0.99');
  });
});
