// The model spec: the shipped example parses; mistakes get an error naming the field.
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { durationMs } from '../../lib/model-spec/duration.ts';
import { loadModelSpec, ModelSpecError, parseModelSpec } from '../../lib/model-spec/model-spec.ts';

const validation = { dataset: 'flights', columns: { date: { type: 'timestamp' } } };

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
    const spec = parseModelSpec({ name: 'm', data: { validation } });
    expect(spec.approval.mode).toBe('automatic');
    expect(spec.retrain).toEqual({ onNewData: true, onDrift: true, cooldown: '0s' });
    expect(spec.trainer.kind).toBe('tfjs-mlp');
    expect(spec.gates).toEqual({});
  });

  it('takes drift thresholds for some methods only (the rest keep their defaults)', () => {
    const spec = parseModelSpec({ name: 'm', data: { validation }, monitor: { drift: { thresholds: { psi: 0.3 } } } });
    expect(spec.monitor.drift?.thresholds).toEqual({ psi: 0.3 });
  });

  it.each([
    [{ name: 'Bad Name', data: { validation } }, /name: lower-case letters/],
    [{ name: 'm', data: { validation }, retrain: { cooldown: 'soon' } }, /retrain\.cooldown/],
    [{ name: 'm', data: { validation }, retrain: { schedule: 'every monday' } }, /retrain\.schedule: not a five-field cron/],
    [{ name: 'm', data: { validation }, approval: { mode: 'maybe' } }, /approval\.mode/],
    [{ name: 'm', data: { validation }, trainer: { hyperparameters: { epochs: -1 } } }, /trainer\.hyperparameters\.epochs/],
    [{ name: 'm', data: { validation }, gates: { minAuc: 2 } }, /gates\.minAuc/],
    [{ name: 'm', data: { validation }, extra: 1 }, /extra/],
    [{ name: 'm' }, /data/],
  ])('refuses %j naming the field', (value, message) => {
    expect(() => parseModelSpec(value, 'spec.yaml')).toThrow(ModelSpecError);
    expect(() => parseModelSpec(value, 'spec.yaml')).toThrow(message);
  });

  it('says which file and field when a referenced validation file is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-spec-'));
    await writeFile(join(dir, 'm.yaml'), 'name: m\ndata:\n  validation: ./nope.yaml\n');
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
