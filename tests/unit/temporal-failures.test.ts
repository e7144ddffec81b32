// The one mapping from domain errors to Temporal failures: each domain error class (and subclass)
// becomes the typed failure workflows match on, retryable or not as the table says; anything
// else, an ApplicationFailure included, reaches Temporal exactly as thrown.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { ActivityExecuteInput } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { DataValidationError, InvalidPartitionError, SourceNotFoundError } from '../../lib/data/errors.ts';
import { SourceSpecError } from '../../lib/data/source-spec.ts';
import { FeatureSpecError } from '../../lib/features/tabular/spec.ts';
import { FittedFeaturesError } from '../../lib/features/tabular/state.ts';
import type { ValidationReport } from '../../lib/data/validation/report.ts';
import { InvalidSpecError } from '../../lib/data/validation/spec.ts';
import { FAILURE_TYPES, NON_RETRYABLE_FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import { InvalidModelError } from '../../lib/onnx/errors.ts';
import {
  AliasNotFoundError,
  MlflowError,
  MlflowUnavailableError,
  ModelNotFoundError,
  RegistryConflictError,
  RegistryNotFoundError,
  VersionNotFoundError,
} from '../../lib/registry/errors.ts';
import { ServingAdminError } from '../../lib/rollout/serving-admin.ts';
import { ArtifactCorruptError, ArtifactNotFoundError } from '../../lib/storage/errors.ts';
import {
  DomainFailureInterceptor,
  failureMappingFor,
  FAILURE_MAPPINGS,
  flywheelActivityInterceptors,
  toTemporalFailure,
} from '../../lib/temporal/failures.ts';
import { TrainerCommandError, TrainerExitError, TrainerProtocolError } from '../../lib/training/command/errors.ts';
import { PreemptedError } from '../../lib/training/preemption.ts';

const report: ValidationReport = {
  dataset: 'flights',
  subject: 'v1',
  passed: false,
  summary: 'flights v1: 1 hard violation — delay: 3 nulls',
  rows: 10,
  errors: 1,
  warnings: 1,
  problems: [
    { severity: 'error', rule: 'notNull', column: 'delay', message: '3 nulls' },
    { severity: 'warning', rule: 'drift', column: 'distance', message: 'mean moved' },
  ],
  referenceUsed: true,
};

/** Maps an error and returns the ApplicationFailure it became (fails the test if it did not). */
function mapped(err: Error): ApplicationFailure {
  const out = toTemporalFailure(err);
  expect(out).toBeInstanceOf(ApplicationFailure);
  return out as ApplicationFailure;
}

describe('the failure table', () => {
  const cases: Array<[string, Error, string, boolean]> = [
    ['DataValidationError', new DataValidationError(report, 'file:///r/report.json'), 'DataValidationFailed', true],
    ['InvalidSpecError', new InvalidSpecError('invalid validation spec:\n  columns: Required'), 'InvalidConfig', true],
    ['InvalidModelError', new InvalidModelError('an MLP needs at least one layer'), 'InvalidConfig', true],
    ['TrainerProtocolError', new TrainerProtocolError('exit 0 without done', ['boom']), 'InvalidConfig', true],
    ['TrainerCommandError', new TrainerCommandError('the training command pythn3 is not on this worker’s PATH'), 'InvalidConfig', true],
    ['ServingAdminError (permanent)', new ServingAdminError('PUT /routing → 400: bad weight', true, 400), 'InvalidConfig', true],
    ['RegistryNotFoundError', new RegistryNotFoundError('nothing there'), 'NotFound', true],
    ['ModelNotFoundError', new ModelNotFoundError('flights'), 'NotFound', true],
    ['VersionNotFoundError', new VersionNotFoundError('flights', 7), 'NotFound', true],
    ['AliasNotFoundError', new AliasNotFoundError('flights', 'champion'), 'NotFound', true],
    ['ArtifactNotFoundError', new ArtifactNotFoundError('file:///a/model.onnx'), 'NotFound', true],
    ['ArtifactCorruptError', new ArtifactCorruptError('file:///a/model.onnx', 'aa', 'bb'), 'ArtifactCorrupt', true],
    ['PreemptedError', new PreemptedError('gpu-1', 'file:///c/step-5'), 'Preempted', false],
    ['SourceSpecError', new SourceSpecError('invalid source spec:\n  uri: Required'), 'InvalidConfig', true],
    ['InvalidPartitionError', new InvalidPartitionError('partition "..": not a path segment'), 'InvalidConfig', true],
    ['FeatureSpecError', new FeatureSpecError('invalid feature spec:\n  features.0.kind: Invalid'), 'InvalidConfig', true],
    ['FittedFeaturesError', new FittedFeaturesError('invalid fitted features:\n  state: Required'), 'InvalidConfig', true],
    ['SourceNotFoundError', new SourceNotFoundError('s3://b/raw/*.csv', 'no object matches s3://b/raw/*.csv'), 'NotFound', true],
  ];

  it.each(cases)('%s → %s', (_name, err, type, nonRetryable) => {
    const failure = mapped(err);
    expect(failure.type).toBe(type);
    expect(failure.nonRetryable).toBe(nonRetryable);
    expect(failure.message).toBe(err.message);
  });

  it('keeps the failure types workflows and histories match on, byte for byte', () => {
    expect(FAILURE_MAPPINGS.map((m) => m.type)).toEqual([
      'DataValidationFailed',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'InvalidConfig',
      'NotFound',
      'NotFound',
      'NotFound',
      'ArtifactCorrupt',
      'Preempted',
    ]);
    // Whatever the table calls permanent, workflows' retry policies list as non-retryable too.
    for (const m of FAILURE_MAPPINGS.filter((r) => r.nonRetryable)) expect(NON_RETRYABLE_FAILURE_TYPES).toContain(m.type);
  });

  it('gives each failure the report it had when activities mapped errors themselves', () => {
    expect(mapped(new DataValidationError(report, 'file:///r/report.json')).details).toEqual([
      { summary: report.summary, reportUri: 'file:///r/report.json', problems: [report.problems[0]] },
    ]);
    expect(mapped(new DataValidationError(report)).details).toEqual([{ summary: report.summary, problems: [report.problems[0]] }]);
    const missing = new ArtifactNotFoundError('file:///a/model.onnx');
    expect(mapped(missing).details).toEqual([{ summary: missing.message, uri: 'file:///a/model.onnx' }]);
    const corrupt = new ArtifactCorruptError('file:///a/model.onnx', 'aa', 'bb');
    expect(mapped(corrupt).details).toEqual([{ summary: corrupt.message, uri: 'file:///a/model.onnx' }]);
    const gone = new VersionNotFoundError('flights', 7);
    expect(mapped(gone).details).toEqual([{ summary: 'model "flights" has no version 7' }]);
    const protocol = new TrainerProtocolError('exit 0 without done', ['boom']);
    expect(mapped(protocol).details).toEqual([{ summary: protocol.message }]);
    expect(mapped(new PreemptedError('gpu-1', null))).toMatchObject({
      message: 'preempted on gpu-1; resume from the start',
      details: [{ checkpointUri: null, identity: 'gpu-1' }],
    });
  });

  it('equals the permanent failure an activity used to build by hand', () => {
    const err = new ModelNotFoundError('flights');
    const before = permanentFailure(FAILURE_TYPES.NotFound, { summary: err.message });
    const after = mapped(err);
    expect({ type: after.type, message: after.message, nonRetryable: after.nonRetryable, details: after.details }).toEqual({
      type: before.type,
      message: before.message,
      nonRetryable: before.nonRetryable,
      details: before.details,
    });
  });

  it('keeps the stack of the domain error, so the failure shows where it was thrown', () => {
    const err = new ArtifactCorruptError('file:///a', 'aa', 'bb');
    expect(mapped(err).stack).toBe(err.stack);
  });

  it('passes everything else through unchanged: transient errors, unknown errors, failures already made', () => {
    const others: unknown[] = [
      new ServingAdminError('inference server unreachable', false),
      new TrainerExitError('train.py', 137, null, []),
      new MlflowUnavailableError('MLflow unreachable'),
      new MlflowError(500, 'INTERNAL_ERROR', 'boom'),
      new RegistryConflictError('already exists'),
      new Error('plain'),
      'a string',
      undefined,
      permanentFailure(FAILURE_TYPES.QualityGateFailed, { summary: 'auc too low' }),
      ApplicationFailure.create({ type: 'Preempted', message: 'spot notice', nonRetryable: false }),
    ];
    for (const err of others) {
      expect(failureMappingFor(err)).toBeUndefined();
      expect(toTemporalFailure(err)).toBe(err);
    }
  });
});

describe('the activity interceptor', () => {
  const input: ActivityExecuteInput = { args: [], headers: {} };
  const interceptor = new DomainFailureInterceptor();
  const rejection = (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: unknown) => e,
    );

  it('turns a thrown domain error into its failure', async () => {
    const err = await rejection(interceptor.execute(input, () => Promise.reject(new ArtifactCorruptError('file:///a', 'aa', 'bb'))));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      type: 'ArtifactCorrupt',
      nonRetryable: true,
      message: 'artifact checksum mismatch: file:///a (expected sha256 aa, got bb)',
    });
  });

  it('rethrows an unknown error as it is', async () => {
    const unknown = new Error('socket hang up');
    expect(await rejection(interceptor.execute(input, () => Promise.reject(unknown)))).toBe(unknown);
  });

  it('rethrows an ApplicationFailure an activity made itself as it is', async () => {
    const failure = permanentFailure(FAILURE_TYPES.InvalidConfig, { summary: 'no database on this worker' });
    expect(await rejection(interceptor.execute(input, () => Promise.reject(failure)))).toBe(failure);
  });

  it('returns the result of a successful activity', async () => {
    expect(await interceptor.execute(input, () => Promise.resolve({ version: 3 }))).toEqual({ version: 3 });
  });

  it('is what an activity run with the worker interceptors sends', async () => {
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    const env = new MockActivityEnvironment(undefined, { logger: quiet, interceptors: [flywheelActivityInterceptors] });
    const activity = async (model: string): Promise<never> => {
      throw new ModelNotFoundError(model);
    };
    const err = await rejection(env.run(activity, 'flights'));
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
      message: 'model "flights" is not registered',
      details: [{ summary: 'model "flights" is not registered' }],
    });
  });
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('the failure table stays light', () => {
  it('loads no DuckDB, ONNX Runtime or TF.js (every worker and the inference server import it)', () => {
    const script = [
      "await import('./lib/temporal/failures.ts');",
      "const { createRequire } = await import('node:module');",
      'const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => /duckdb|onnxruntime|tfjs/.test(k));',
      'process.stdout.write(JSON.stringify(loaded));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual([]);
  });
});
