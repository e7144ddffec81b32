// The model spec: the shipped example parses; mistakes get an error naming the field.
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationMs } from '../../lib/model-spec/duration.ts';
import { loadModelSpec, ModelSpecError, parseModelSpec } from '../../lib/model-spec/model-spec.ts';

const validation = { dataset: 'flights', columns: { date: { type: 'timestamp' } } };
/** The least a spec names: the dataset, the label and the features. */
const data = { dataset: 'd', label: 'y', validation };
const features = { features: [{ name: 'x', kind: 'numeric' }] };

describe('model spec', () => {
  it('loads examples/flights/model.yaml with its validation rules from the referenced file', async () => {
    const spec = await loadModelSpec('examples/flights/model.yaml');
    expect(spec.name).toBe('flights-delay');
    expect(spec.data.validation.columns.origin?.pattern).toBe('^[A-Z0-9]{3}$');
    expect(spec.approval).toEqual({ mode: 'manual', timeout: '24h', default: 'reject' });
    expect(spec.retrain).toMatchObject({ schedule: '0 6 * * 1', onNewData: true, cooldown: '1h' });
    expect(spec.trainer.resources.gpu).toBe(false);
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec); // plain JSON: a workflow input as is
  });

  it('fills defaults for everything but the name and data', () => {
    const spec = parseModelSpec({ name: 'm', data, features });
    expect(spec.approval.mode).toBe('automatic');
    expect(spec.retrain).toEqual({ onNewData: true, onDrift: true, cooldown: '0s' });
    expect(spec.trainer.kind).toBe('tfjs-mlp');
    expect(spec.gates).toEqual({});
    expect(spec.task).toBe('binary');
  });

  it('reads task, label, time, partition and a feature spec path relative to the spec file', async () => {
    const spec = await loadModelSpec('examples/flights/model.yaml');
    expect(spec.task).toBe('binary');
    expect(spec.data).toMatchObject({ dataset: 'flights', label: { expression: 'delay > 15' }, time: 'date', partition: { by: 'month' } });
    expect(spec.features.features.map((f) => f.name)).toEqual(['hour', 'dow', 'distance_scaled', 'origin', 'destination']);
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-spec-'));
    await writeFile(
      join(dir, 'm.yaml'),
      'name: m\ndata: {dataset: d, label: y, validation: {dataset: d, columns: {}}}\nfeatures: ./nope.yaml\n',
    );
    await expect(loadModelSpec(join(dir, 'm.yaml'))).rejects.toThrow(/features: cannot read .*nope\.yaml/);
  });

  it('takes drift thresholds for some methods only (the rest keep their defaults)', () => {
    const spec = parseModelSpec({ name: 'm', data, features, monitor: { drift: { thresholds: { psi: 0.3 } } } });
    expect(spec.monitor.drift?.thresholds).toEqual({ psi: 0.3 });
  });

  it.each([
    [{ name: 'Bad Name', data, features }, /name: lower-case letters/],
    [{ name: 'm', data, features, retrain: { cooldown: 'soon' } }, /retrain\.cooldown/],
    [{ name: 'm', data, features, retrain: { schedule: 'every monday' } }, /retrain\.schedule: not a five-field cron/],
    [{ name: 'm', data, features, approval: { mode: 'maybe' } }, /approval\.mode/],
    [{ name: 'm', data, features, trainer: { hyperparameters: { epochs: -1 } } }, /trainer\.hyperparameters\.epochs/],
    [{ name: 'm', data, features, gates: { minAuc: 2 } }, /gates\.minAuc/],
    [{ name: 'm', data, features, extra: 1 }, /extra/],
    [{ name: 'm' }, /data/],
    [{ name: 'm', data }, /features/],
    [{ name: 'm', data: { validation, label: 'y' }, features }, /data\.dataset/],
    [{ name: 'm', data: { validation, dataset: 'd' }, features }, /data\.label/],
    [{ name: 'm', data, features: { kind: 'flights-v1' } }, /flights-v1 was replaced .*examples\/flights\/features\.yaml/],
    [
      { name: 'm', task: 'regression', data, features, gates: { minAuc: 0.7 } },
      /gates: minAuc is a binary classification gate; a regression model's gates are maxRmse/,
    ],
    [{ name: 'm', task: 'ordinal', data, features }, /task/],
    [
      { name: 'm', data: { ...data, partition: { by: 'month' } }, features },
      /data\.partition\.column: partition by month needs a time column/,
    ],
  ])('refuses %j naming the field', (value, message) => {
    expect(() => parseModelSpec(value, 'spec.yaml')).toThrow(ModelSpecError);
    expect(() => parseModelSpec(value, 'spec.yaml')).toThrow(message);
  });

  it('says which file and field when a referenced validation file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-spec-'));
    await writeFile(
      join(dir, 'm.yaml'),
      'name: m\ndata:\n  dataset: d\n  label: y\n  validation: ./nope.yaml\nfeatures: {features: [{name: x, kind: numeric}]}\n',
    );
    await expect(loadModelSpec(join(dir, 'm.yaml'))).rejects.toThrow(/data\.validation: cannot read .*nope\.yaml/);
  });

  it('never echoes the content of a file that is not a spec (e.g. --spec /etc/passwd, or a secrets file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-spec-'));
    await writeFile(join(dir, 'secrets.yaml'), 'password: hunter2-secret\n  bad: [unclosed\n');
    const err = (await loadModelSpec(join(dir, 'secrets.yaml')).then(
      () => new Error('loaded'),
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/^cannot read model spec .*secrets\.yaml: .*line 1, column 11$/);
    expect(err.message).not.toContain('hunter2');
  });

  it('reads durations', () => {
    expect(durationMs('90s')).toBe(90_000);
    expect(durationMs('1.5h')).toBe(5_400_000);
    expect(durationMs(250)).toBe(250);
    expect(() => durationMs('soon')).toThrow('not a duration');
  });
});
