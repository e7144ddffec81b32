// `trainer` in the model spec: the three kinds, their checks, the paths resolved against the spec
// file, and what each becomes in trainModel's input (trainJobOf, which the cycle calls).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelSpec, parseModelSpec } from '../../lib/model-spec/model-spec.ts';
import { evaluateJobOf, trainJobOf } from '../../lib/model-spec/train-job.ts';
import { checkVariantGate } from '../../lib/evaluation/variant-gate.ts';
import { checkModelSignature, exportMlpToOnnx } from '../../lib/onnx/index.ts';

const base = {
  name: 'm',
  data: { dataset: 'd', label: 'y', validation: { dataset: 'd', columns: {} } },
  features: { features: [{ name: 'x', kind: 'numeric' }] },
};

describe('trainer kinds', () => {
  it('reads a trainer without a kind as the built-in MLP, and gives it no trainer job (as before kinds)', () => {
    const spec = parseModelSpec({ ...base, trainer: { hyperparameters: { epochs: 2 }, resources: { gpu: false } } });
    expect(spec.trainer.kind).toBe('tfjs-mlp');
    expect(trainJobOf(spec)).toEqual({ hyperparameters: { epochs: 2 }, resources: { gpu: false } });
    // A spec that reached the workflow unparsed (no kind at all) trains as it always did, on its queue.
    const raw = { trainer: { hyperparameters: { epochs: 2 }, resources: { gpu: false } } } as unknown as Parameters<typeof trainJobOf>[0];
    expect(trainJobOf(raw)).toEqual({ hyperparameters: { epochs: 2 }, resources: { gpu: false } });
  });

  it('turns a command trainer, its env allow-list and its preemption policy into trainModel input', () => {
    const spec = parseModelSpec({
      ...base,
      trainer: {
        kind: 'command',
        command: ['python3', 'train.py'],
        workingDir: '/srv/trainers',
        hyperparameters: { epochs: 5, hidden: [8] },
        env: { pass: ['OMP_NUM_THREADS'], set: { MODE: 'fast' } },
        resources: { gpu: true },
        preemption: { switchAfter: 1, onDemandQueue: 'flywheel-gpu-ondemand' },
        killGrace: '30s',
      },
    });
    expect(trainJobOf(spec)).toEqual({
      resources: { gpu: true },
      preemption: { maxPreemptions: 5, switchAfter: 1, onDemandQueue: 'flywheel-gpu-ondemand' },
      trainer: {
        kind: 'command',
        command: ['python3', 'train.py'],
        workingDir: '/srv/trainers',
        hyperparameters: { epochs: 5, hidden: [8] },
        env: { pass: ['OMP_NUM_THREADS'], set: { MODE: 'fast' } },
        killGraceMs: 30_000,
      },
    });
  });

  it('sets preemption on the built-in trainer too (the on-demand switch is reachable from a spec)', () => {
    const spec = parseModelSpec({ ...base, trainer: { kind: 'tfjs-mlp', resources: { gpu: true }, preemption: { onDemandQueue: 'od' } } });
    expect(trainJobOf(spec).preemption).toEqual({ maxPreemptions: 5, switchAfter: 2, onDemandQueue: 'od' });
  });

  it.each([
    [{ kind: 'command' }, /trainer\.command/],
    [{ kind: 'command', command: [] }, /trainer\.command/],
    [{ kind: 'command', command: ['x'], env: { pass: ['NOT A NAME'] } }, /trainer\.env\.pass\.0: an environment variable name/],
    [{ kind: 'command', command: ['x'], hyperparameters: { epochs: 1 }, learningRate: 1 }, /trainer/],
    [{ kind: 'onnx' }, /trainer\.model/],
    [{ kind: 'onnx', model: 'm.onnx', hyperparameters: {} }, /trainer/],
    [{ kind: 'xgboost' }, /trainer\.kind/],
  ])('refuses %j with the field named', (trainer, message) => {
    expect(() => parseModelSpec({ ...base, trainer })).toThrow(message);
  });

  it('resolves a command’s working folder and an imported model’s path against the spec file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-trainer-spec-'));
    const write = async (name: string, trainer: string) => {
      const path = join(dir, name);
      await writeFile(
        path,
        `name: m\ndata: {dataset: d, label: y, validation: {dataset: d, columns: {}}}\nfeatures: {features: [{name: x, kind: numeric}]}\ntrainer: ${trainer}\n`,
      );
      return loadModelSpec(path);
    };
    const inFolder = await write('a.yaml', '{kind: command, command: [python3, train.py]}');
    expect(inFolder.trainer).toMatchObject({ kind: 'command', workingDir: dir });
    const sub = await write('b.yaml', '{kind: command, command: [python3, train.py], workingDir: ../trainers}');
    expect(sub.trainer).toMatchObject({ workingDir: join(dir, '..', 'trainers') });
    const imported = await write('c.yaml', '{kind: onnx, model: models/m.onnx}');
    expect(imported.trainer).toMatchObject({ kind: 'onnx', model: pathToFileURL(join(dir, 'models/m.onnx')).href });
    const remote = await write('d.yaml', '{kind: onnx, model: "s3://bucket/m.onnx"}');
    expect(remote.trainer).toMatchObject({ model: 's3://bucket/m.onnx' });
  });
});

describe('checkModelSignature', () => {
  const model = (dim: number, units: number, activation: 'sigmoid' | 'softmax' | 'linear', head: 'binary' | 'multiclass' | 'regression') =>
    exportMlpToOnnx(
      {
        inputDim: dim,
        head,
        layers: [{ inputs: dim, units, activation, weights: new Float32Array(dim * units).fill(0.3), bias: new Float32Array(units) }],
      },
      { featureSpecHash: 'x', datasetVersion: 'y' },
    );

  it('accepts a multiclass model whose rows sum to 1 and refuses one whose output width is another class count', async () => {
    await expect(
      checkModelSignature(model(4, 3, 'softmax', 'multiclass'), { inputDim: 4, output: 'probabilities', units: 3, kind: 'probabilities' }),
    ).resolves.toBeUndefined();
    await expect(
      checkModelSignature(model(4, 3, 'softmax', 'multiclass'), { inputDim: 4, output: 'probabilities', units: 5, kind: 'probabilities' }),
    ).rejects.toThrow(/output "probabilities" has shape \[N, 3\], not \[N, 5\]/);
  });

  it('refuses logits where probabilities belong', async () => {
    // A linear head named like a binary one: its values on a row of ones are 1.2, not a probability.
    const bytes = model(4, 1, 'linear', 'regression');
    await expect(checkModelSignature(bytes, { inputDim: 4, output: 'value', units: 1, kind: 'probability' })).rejects.toThrow(
      /probabilities in \[0, 1\].*logits/,
    );
    await expect(checkModelSignature(bytes, { inputDim: 4, output: 'value', units: 1, kind: 'value' })).resolves.toBeUndefined();
  });
});

describe('variants', () => {
  it('defaults to an int8 gate of 0.01 served only on request, and refuses serving int8 from a trainer that has none', () => {
    expect(parseModelSpec(base).variants).toEqual({ int8: { maxMetricDrop: 0.01, serve: false } });
    expect(parseModelSpec({ ...base, variants: { int8: { serve: true } } }).variants.int8).toEqual({ maxMetricDrop: 0.01, serve: true });
    expect(() =>
      parseModelSpec({ ...base, trainer: { kind: 'onnx', model: 's3://b/m.onnx' }, variants: { int8: { serve: true } } }),
    ).toThrow(/variants\.int8\.serve: only the built-in tfjs-mlp trainer exports an int8 variant/);
  });

  it('gates each task on its main metric: AUC and accuracy by difference, RMSE by ratio', () => {
    expect(checkVariantGate('binary', { rocAuc: 0.8 }, { rocAuc: 0.795 }, 0.01)).toMatchObject({ metric: 'rocAuc', passed: true });
    expect(checkVariantGate('binary', { rocAuc: 0.8 }, { rocAuc: 0.78 }, 0.01)).toMatchObject({ passed: false });
    expect(checkVariantGate('multiclass', { accuracy: 0.6 }, { accuracy: 0.61 }, 0)).toMatchObject({ metric: 'accuracy', passed: true });
    const rmse = checkVariantGate('regression', { rmse: 2 }, { rmse: 2.1 }, 0.04);
    expect(rmse).toMatchObject({ metric: 'rmse', passed: false });
    expect(rmse.drop).toBeCloseTo(0.05, 12);
    expect(rmse.summary).toBe('int8: rmse 2.1000 vs fp32 2.0000 (increase 5.00% > 4.00%)');
    expect(checkVariantGate('binary', { rocAuc: 0.8 }, {}, 0.01)).toMatchObject({ passed: false });
  });
});

describe('evaluateJobOf (the cycle and `flywheel ci` evaluate alike)', () => {
  const data = { featureSpecUri: 'file:///f.json', testUri: 'file:///test', validationUri: 'file:///val' };
  it('carries the gates and row limit, and gates the int8 build with the spec’s drop (0.01 for a spec from before variants)', () => {
    const spec = parseModelSpec({
      ...base,
      gates: { minAuc: 0.6 },
      trainer: { hyperparameters: { epochs: 2 }, limitRows: 500 },
      variants: { int8: { maxMetricDrop: 0.02 } },
    });
    expect(evaluateJobOf(spec, { runKey: 'r1', modelUri: 'file:///m.onnx' }, data)).toEqual({
      model: spec.name,
      runKey: 'r1',
      modelUri: 'file:///m.onnx',
      ...data,
      gates: { minAuc: 0.6 },
      limitRows: 500,
    });
    const withInt8 = evaluateJobOf(spec, { runKey: 'r1', modelUri: 'file:///m.onnx', int8ModelUri: 'file:///m8.onnx' }, data);
    expect(withInt8.variants).toEqual({ int8: { modelUri: 'file:///m8.onnx', maxMetricDrop: 0.02 } });
    const { variants: _, ...old } = spec;
    expect(evaluateJobOf(old, { runKey: 'r1', modelUri: 'm', int8ModelUri: 'm8' }, data).variants?.int8?.maxMetricDrop).toBe(0.01);
  });
});
