// Tasks: binary classification, multiclass classification and regression.
export * from './task.ts';
