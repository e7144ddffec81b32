// Cross-environment promotion (docs/environments.md): plan, verified copy, registration with
// lineage, and the target environment's approval settings.
export * from './errors.ts';
export * from './plan.ts';
export * from './copy.ts';
export * from './promote.ts';
export * from './approval.ts';
