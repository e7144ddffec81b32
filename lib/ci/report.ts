// What `flywheel ci` reports: each pipeline step it ran on the sample (passed, failed or skipped,
// how long, what it found), the quality gates with their limits and observed values, and the
// serving contract check. One JSON document (`--json`, `--out`) and its text rendering.
import type { GateResult } from '../evaluation/gates.ts';

export const CI_REPORT_FORMAT = 'flywheel.ci-report/v1';

/** The steps in the order they run: the same as a training cycle's, then the serving check. */
export const CI_STEPS = ['sample', 'ingest', 'validate', 'profile', 'features', 'train', 'evaluate', 'register', 'serve'] as const;
export type CiStepName = (typeof CI_STEPS)[number];

export type CiStepStatus = 'passed' | 'failed' | 'skipped';

export interface CiStep {
  name: CiStepName;
  status: CiStepStatus;
  /** Wall time of the step; 0 when skipped. */
  ms: number;
  /** One line a person reads: what the step found, or why it failed. */
  summary: string;
  /** The failure's type (`DataValidationFailed`, `QualityGateFailed`, `InvalidConfig`, …) when it has one. */
  failureType?: string;
}

/** The predict request the serving check sent and what came back. */
export interface CiContract {
  instances: number;
  /** The prediction fields the task promises (`probability`, `class` + `probabilities`, `value`). */
  fields: readonly string[];
  /** The first prediction, as the server answered it. */
  example?: Record<string, unknown>;
  problems: string[];
}

export interface CiReport {
  format: typeof CI_REPORT_FORMAT;
  spec: string;
  model: string;
  task: string;
  trainer: string;
  /** Rows the sample asked for, and rows it holds (fewer when the data is smaller). */
  sample: { requested: number; rows: number };
  passed: boolean;
  steps: CiStep[];
  /** Every declared gate, passed or not, from the evaluation's gate report. */
  gates: GateResult[];
  /** The candidate's summary metrics (the registry's flat numbers). */
  metrics: Record<string, number>;
  contract?: CiContract;
  /** The first failed step. */
  failure?: { step: CiStepName; message: string; failureType?: string; failedGates?: string[] };
  /** Reports written by the steps, as paths under `--out` (or URIs in the temporary store). */
  artifacts: Record<string, string>;
  ms: number;
}

function fmt(value: number | null): string {
  return value === null ? '—' : String(Number(value.toPrecision(4)));
}

/** The gate lines of a report: `✗ minAccuracy  limit 0.99  observed 0.81  accuracy 0.810 < 0.990`. */
export function renderGates(gates: readonly GateResult[]): string[] {
  if (gates.length === 0) return ['  (no quality gates declared)'];
  const width = Math.max(...gates.map((g) => g.name.length));
  return gates.map(
    (g) =>
      `  ${g.skipped ? '-' : g.passed ? '✓' : '✗'} ${g.name.padEnd(width)}  limit ${fmt(g.limit)}  observed ${fmt(g.observed)}  ${g.message}`,
  );
}

/** The whole report as text, for the terminal and CI logs. */
export function renderCiReport(report: CiReport): string {
  const lines = [
    `flywheel ci ${report.spec}: ${report.passed ? 'PASSED' : 'FAILED'} (${report.model}, ${report.task}, trainer ${report.trainer}, ${report.sample.rows} sample rows, ${(report.ms / 1000).toFixed(1)} s)`,
    '',
    'Steps:',
  ];
  const width = Math.max(...report.steps.map((s) => s.name.length));
  for (const s of report.steps) {
    const mark = s.status === 'passed' ? '✓' : s.status === 'failed' ? '✗' : '-';
    const time = s.status === 'skipped' ? '' : ` (${(s.ms / 1000).toFixed(1)} s)`;
    lines.push(`  ${mark} ${s.name.padEnd(width)}  ${s.summary}${time}`);
  }
  if (report.gates.length > 0 || report.steps.some((s) => s.name === 'evaluate' && s.status !== 'skipped')) {
    lines.push('', 'Quality gates:', ...renderGates(report.gates));
  }
  if (report.contract) {
    lines.push('', `Serving contract: ${report.contract.instances} instances → fields ${report.contract.fields.join(', ')}`);
    if (report.contract.example) lines.push(`  first prediction: ${JSON.stringify(report.contract.example)}`);
    for (const p of report.contract.problems) lines.push(`  ✗ ${p}`);
  }
  const artifacts = Object.entries(report.artifacts);
  if (artifacts.length > 0) lines.push('', 'Reports:', ...artifacts.map(([k, v]) => `  ${k}: ${v}`));
  if (report.failure) {
    const type = report.failure.failureType ? ` [${report.failure.failureType}]` : '';
    lines.push('', `FAILED at ${report.failure.step}${type}: ${report.failure.message}`);
  }
  return lines.join('\n');
}
