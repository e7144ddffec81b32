// The validation report: JSON for machines, text for people, and a one-line summary for the
// Web UI and the failure message.

export type Severity = 'error' | 'warning';

export interface ValidationProblem {
  severity: Severity;
  rule: string;
  column?: string;
  message: string;
  observed?: unknown;
  expected?: unknown;
}

export interface ValidationReport {
  dataset: string;
  /** Dataset version, or the file validated by hand. */
  subject: string;
  passed: boolean;
  summary: string;
  rows: number;
  errors: number;
  warnings: number;
  problems: ValidationProblem[];
  /** Relative rules were skipped when no reference profile was given. */
  referenceUsed: boolean;
}

export function buildReport(
  dataset: string,
  subject: string,
  rows: number,
  problems: ValidationProblem[],
  referenceUsed: boolean,
): ValidationReport {
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = problems.length - errors.length;
  const summary =
    errors.length === 0
      ? `${dataset} ${subject}: passed (${rows} rows${warnings ? `, ${warnings} warning${warnings > 1 ? 's' : ''}` : ''})`
      : `${dataset} ${subject}: ${errors.length} hard violation${errors.length > 1 ? 's' : ''} — ${errors
          .slice(0, 3)
          .map((e) => e.message)
          .join('; ')}${errors.length > 3 ? '; …' : ''}`;
  return { dataset, subject, passed: errors.length === 0, summary, rows, errors: errors.length, warnings, problems, referenceUsed };
}

export function renderReportText(report: ValidationReport): string {
  const lines = [
    `Validation of ${report.dataset} (${report.subject})`,
    `Result: ${report.passed ? 'PASSED' : 'FAILED'} — ${report.errors} error(s), ${report.warnings} warning(s), ${report.rows} rows`,
    report.referenceUsed ? 'Reference profile: used' : 'Reference profile: none (relative rules skipped)',
    '',
  ];
  for (const p of report.problems) {
    lines.push(`${p.severity === 'error' ? 'ERROR  ' : 'WARNING'} [${p.rule}]${p.column ? ` ${p.column}:` : ''} ${p.message}`);
  }
  if (report.problems.length === 0) lines.push('No problems found.');
  return lines.join('\n') + '\n';
}
