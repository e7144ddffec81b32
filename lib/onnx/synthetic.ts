// Seeded synthetic MLPs and inputs for tests and benchmarks of the exporters: Glorot-uniform
// weights, and rows shaped like the flights features (one-hot hour, day of week, origin and
// destination, plus one standardized distance) or dense standardized rows.
import type { MlpActivation, MlpWeights } from './types.ts';

/** mulberry32: a small, fast, seeded generator of uniforms in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed | 0;
  return function next() {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Roughly standard normal (Irwin–Hall with 4 uniforms, rescaled). */
export function roughNormal(random: () => number): number {
  return (random() + random() + random() + random() - 2) * Math.sqrt(3);
}

/** An MLP `dims[0] → … → dims[last]` with ReLU hidden layers and a sigmoid output. */
export function randomMlp(dims: readonly number[], random: () => number): MlpWeights {
  const layers = dims.slice(1).map((units, i) => {
    const inputs = dims[i]!;
    const limit = Math.sqrt(6 / (inputs + units));
    const activation: MlpActivation = i === dims.length - 2 ? 'sigmoid' : 'relu';
    return {
      inputs,
      units,
      activation,
      weights: Float32Array.from({ length: inputs * units }, () => (random() * 2 - 1) * limit),
      bias: Float32Array.from({ length: units }, () => (random() - 0.5) * 0.2),
    };
  });
  return { inputDim: dims[0]!, layers };
}

/** Width of flights-shaped rows with the given vocabulary sizes (each gets an OOV slot). */
export function flightsShapedDim(originVocab: number, destinationVocab: number): number {
  return 24 + 7 + 1 + originVocab + 1 + destinationVocab + 1;
}

/** `rows` flights-shaped rows: one-hot hour (24), day of week (7), a standardized distance,
 * and one-hot origin and destination with a skewed (hub-heavy) popularity. */
export function flightsShapedRows(
  rows: number,
  random: () => number,
  originVocab = 99,
  destinationVocab = 98,
): Float32Array {
  const dim = flightsShapedDim(originVocab, destinationVocab);
  const x = new Float32Array(rows * dim);
  const originStart = 32;
  const destinationStart = originStart + originVocab + 1;
  for (let r = 0; r < rows; r++) {
    const o = r * dim;
    x[o + Math.floor(random() * 24)] = 1;
    x[o + 24 + Math.floor(random() * 7)] = 1;
    x[o + 31] = roughNormal(random);
    x[o + originStart + Math.floor(random() ** 2 * (originVocab + 1))] = 1;
    x[o + destinationStart + Math.floor(random() ** 2 * (destinationVocab + 1))] = 1;
  }
  return x;
}

/** `rows × dim` roughly standard normal values. */
export function normalRows(rows: number, dim: number, random: () => number): Float32Array {
  return Float32Array.from({ length: rows * dim }, () => roughNormal(random));
}
