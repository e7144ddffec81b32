// Declarative tabular features: the spec language, fitting in DuckDB, the columnar encoder and
// the request-instance reader. docs/features.md documents the language.
export * from './spec.ts';
export * from './state.ts';
export * from './fit.ts';
export * from './encode.ts';
export * from './instances.ts';
export * from './columns.ts';
export { parseNaiveTimestampMs } from '../../time/naive-timestamp.ts';
export * from './model-io.ts';
