// Evaluation: metrics on the held-out time split, quality gates, and the HTML report.
export { rocAuc } from './auc.ts';
export * from './metrics.ts';
export * from './multiclass.ts';
export * from './regression.ts';
export * from './slices.ts';
export * from './evaluate.ts';
export * from './evaluate-tasks.ts';
export * from './gates.ts';
export { renderEvaluationReport, type ReportModel } from './report-html.ts';
