// ONNX export of the multiclass (softmax) and regression (linear) heads, checked the way the
// binary export is (tests/unit/onnx-export.test.ts): 10,000 rows scored by ONNX Runtime against
// tfjs model.predict and the plain-JS forward pass, within 1e-5. The binary export stays
// byte-identical to what it was before heads existed (sha256 of the bytes from then).
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exportMlpToOnnx,
  forwardMlp,
  InvalidModelError,
  OnnxSession,
  quantizeMlpInt8,
  type MlpActivation,
  type MlpHead,
  type MlpWeights,
  type OnnxModelMetadata,
} from '../../lib/onnx/index.ts';
import { flightsShapedRows, normalRows, randomMlp, seededRandom } from '../fixtures/synthetic.ts';

const { onnx } = onnxProto;
await tf.setBackend('cpu');
const INPUT_DIM = 40;
const metadata: OnnxModelMetadata = { featureSpecHash: 'sha256:0f1e2d3c', datasetVersion: 'flights/2001-03@v7' };

function buildTfModel(hidden: number[], units: number, activation: 'softmax' | 'linear', seed: number): tf.Sequential {
  const model = tf.sequential();
  [...hidden, units].forEach((width, i) => {
    model.add(
      tf.layers.dense({
        units: width,
        activation: i === hidden.length ? activation : 'relu',
        ...(i === 0 ? { inputShape: [INPUT_DIM] } : {}),
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed + 100 + i }),
      }),
    );
  });
  return model;
}

function mlpFromTf(model: tf.Sequential, head: MlpHead): MlpWeights {
  const layers = model.layers.map((layer) => {
    const [kernel, bias] = layer.getWeights();
    const [inputs, units] = kernel!.shape as [number, number];
    const activation = layer.getConfig().activation as MlpActivation;
    return { inputs, units, activation, weights: kernel!.dataSync() as Float32Array, bias: bias!.dataSync() as Float32Array };
  });
  return { inputDim: INPUT_DIM, layers, head };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function score(model: Uint8Array, x: Float32Array, rows: number): Promise<{ out: Float32Array; name: string; width: number }> {
  const session = await OnnxSession.create(model);
  try {
    return { out: await session.run(x, rows), name: session.outputName, width: session.outputDim };
  } finally {
    await session.dispose();
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const outputOf = (bytes: Uint8Array) => (onnx.ModelProto.decode(bytes).graph as Onnx.GraphProto).output.map((o) => o.name);

describe.each([
  { head: 'multiclass' as const, units: 4, activation: 'softmax' as const, output: 'probabilities' },
  { head: 'regression' as const, units: 1, activation: 'linear' as const, output: 'value' },
])('$head head', ({ head, units, activation, output }) => {
  const rows = 10_000;
  const model = buildTfModel([32, 16], units, activation, 7);
  const mlp = mlpFromTf(model, head);
  const x = normalRows(rows, INPUT_DIM, seededRandom(3));
  const expected = tf.tidy(() => (model.predict(tf.tensor2d(x, [rows, INPUT_DIM])) as tf.Tensor).dataSync() as Float32Array);
  afterAll(() => model.dispose());

  it(`scores 10,000 rows like tfjs model.predict (max abs diff ≤ 1e-5), output ${output} [N, ${units}]`, async () => {
    const bytes = exportMlpToOnnx(mlp, metadata);
    expect(outputOf(bytes)).toEqual([output]);
    const got = await score(bytes, x, rows);
    expect(got).toMatchObject({ name: output, width: units });
    expect(maxAbsDiff(got.out, expected)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(forwardMlp(mlp, x, rows), expected)).toBeLessThanOrEqual(1e-5);
    if (head === 'multiclass') {
      for (let r = 0; r < 5; r++) expect(got.out.subarray(r * units, (r + 1) * units).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    } else {
      expect(Math.min(...expected)).toBeLessThan(0); // unbounded: no sigmoid squashed it
    }
  });

  it('exports logistic/linear regression (no hidden layer) too', async () => {
    const flat = buildTfModel([], units, activation, 9);
    try {
      const got = await score(exportMlpToOnnx(mlpFromTf(flat, head), metadata), x.subarray(0, 100 * INPUT_DIM), 100);
      const want = tf.tidy(
        () => (flat.predict(tf.tensor2d(x.subarray(0, 100 * INPUT_DIM), [100, INPUT_DIM])) as tf.Tensor).dataSync() as Float32Array,
      );
      expect(maxAbsDiff(got.out, want)).toBeLessThanOrEqual(1e-5);
    } finally {
      flat.dispose();
    }
  });

  it('quantizes to int8 with the same output, close to fp32', async () => {
    const got = await score(quantizeMlpInt8(mlp, x.subarray(0, 2000 * INPUT_DIM), metadata), x.subarray(0, 1000 * INPUT_DIM), 1000);
    expect(got.name).toBe(output);
    const scale = head === 'regression' ? Math.max(...expected.map(Math.abs)) : 1;
    expect(maxAbsDiff(got.out, expected.subarray(0, 1000 * units)) / scale).toBeLessThan(0.05);
  });
});

describe('heads are checked', () => {
  it('refuses a last layer that does not match the head', () => {
    const softmax = randomMlp([4, 3, 1], seededRandom(10));
    softmax.layers[1]!.activation = 'softmax';
    softmax.head = 'multiclass';
    expect(() => exportMlpToOnnx(softmax, metadata)).toThrow(
      new InvalidModelError('the last layer must have 2 or more units and a softmax (multiclass classifier), got 1 × softmax'),
    );
    const linear = randomMlp([4, 3, 1], seededRandom(10));
    linear.head = 'regression';
    expect(() => exportMlpToOnnx(linear, metadata)).toThrow(
      new InvalidModelError('the last layer must have 1 unit and no activation (regression), got 1 × sigmoid'),
    );
    const hidden = randomMlp([4, 3, 1], seededRandom(10));
    hidden.layers[0]!.activation = 'softmax';
    expect(() => exportMlpToOnnx(hidden, metadata)).toThrow(
      new InvalidModelError('layer 0 is hidden; only the last layer may be a softmax'),
    );
  });
});

describe('binary export', () => {
  it('is byte-identical to the export before heads existed (fp32, logistic regression and int8)', () => {
    const mlp = randomMlp([231, 64, 32, 1], seededRandom(11));
    expect(sha256(exportMlpToOnnx(mlp, metadata))).toBe('015afe7e677fc52aaac2f0ef86e4a0c5f4b6e17b87c729d3170a5f542e06a8d3');
    expect(sha256(exportMlpToOnnx(randomMlp([5, 1], seededRandom(12)), metadata))).toBe(
      'f99fc2b407716288607a54322b472b008e583d86bbf441ea9a54bbc3c114852e',
    );
    expect(sha256(quantizeMlpInt8(mlp, flightsShapedRows(500, seededRandom(13)), metadata))).toBe(
      '5294108de2e377c995ef84615ca33a5735d4e28aa07e1ac9b98347c677fb9bfc',
    );
  });
});
