// B7 — bench:export: the int8 static-QDQ ONNX model against the fp32 export of the same MLP, for
// the flights-sized MLP (231→64→32→1, flights-shaped one-hot rows) and a wide one
// (32→1024→1024→1, dense rows). Per model: file size ratio, AUC of each against labels from a
// fixed teacher (the fp32 model, thresholded at its median, 10% of labels flipped by a seeded
// coin), and rows/s at batch 256 in onnxruntime-node, fp32 and int8 interleaved round by round.
// Headline keys are the worse of the two models; per-model keys follow.
//
//   npm run bench:export            # 1 warm-up + 7 rounds per model
//   npm run bench:export -- --quick # small wide model, fewer rows, 1 round (smoke test)
import { rocAuc } from '../lib/evaluation/auc.ts';
import { exportMlpToOnnx, OnnxSession, quantizeMlpInt8, type MlpWeights } from '../lib/onnx/index.ts';
import { flightsShapedRows, normalRows, randomMlp, seededRandom } from '../tests/fixtures/synthetic.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';

const quick = isQuick();
const rounds = quick ? 1 : 7;
const warmups = 1;
const BATCH = 256;
/** Time each side of a round spends scoring, so rounds are long enough to beat timer noise. */
const sideMs = quick ? 100 : 400;
const LABEL_NOISE = 0.1;
const metadata = { featureSpecHash: 'bench', datasetVersion: 'synthetic' };

interface Workload {
  name: 'flights' | 'wide';
  mlp: MlpWeights;
  rows: (n: number, seed: number) => Float32Array;
  calibrationRows: number;
  evalRows: number;
}

const random = seededRandom(2024);
const WORKLOADS: Workload[] = [
  {
    name: 'flights',
    mlp: randomMlp([231, 64, 32, 1], random),
    rows: (n, seed) => flightsShapedRows(n, seededRandom(seed)),
    calibrationRows: quick ? 2_000 : 10_000,
    evalRows: quick ? 20_000 : 200_000,
  },
  {
    name: 'wide',
    mlp: randomMlp(quick ? [32, 256, 256, 1] : [32, 1024, 1024, 1], random),
    rows: (n, seed) => normalRows(n, 32, seededRandom(seed)),
    calibrationRows: quick ? 500 : 4_000,
    evalRows: quick ? 5_000 : 50_000,
  },
];

function teacherLabels(teacher: Float32Array, seed: number): Uint8Array {
  const threshold = median(Array.from(teacher));
  const coin = seededRandom(seed);
  return Uint8Array.from(teacher, (p) => Number(p > threshold !== coin() < LABEL_NOISE));
}

async function scoreAll(session: OnnxSession, x: Float32Array, rows: number, dim: number): Promise<Float32Array> {
  const out = new Float32Array(rows);
  const chunk = 4096;
  for (let r = 0; r < rows; r += chunk) {
    const n = Math.min(chunk, rows - r);
    out.set(await session.run(x.subarray(r * dim, (r + n) * dim), n), r);
  }
  return out;
}

async function rowsPerSecond(session: OnnxSession, batch: Float32Array, iterations: number): Promise<number> {
  const { ms } = await timed(async () => {
    for (let i = 0; i < iterations; i++) await session.run(batch, BATCH);
  });
  return (BATCH * iterations) / (ms / 1000);
}

async function runWorkload(w: Workload) {
  const dim = w.mlp.inputDim;
  const fp32Bytes = exportMlpToOnnx(w.mlp, metadata);
  const { ms: quantizeMs, value: int8Bytes } = await timed(async () => quantizeMlpInt8(w.mlp, w.rows(w.calibrationRows, 11), metadata));
  const sizeRatio = int8Bytes.length / fp32Bytes.length;
  const fp32 = await OnnxSession.create(fp32Bytes);
  const int8 = await OnnxSession.create(int8Bytes);
  try {
    const x = w.rows(w.evalRows, 12);
    const p32 = await scoreAll(fp32, x, w.evalRows, dim);
    const p8 = await scoreAll(int8, x, w.evalRows, dim);
    const labels = teacherLabels(p32, 13);
    const auc32 = rocAuc(p32, labels);
    const auc8 = rocAuc(p8, labels);
    let maxAbsDiff = 0;
    for (let i = 0; i < p32.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p32[i]! - p8[i]!));

    const batch = w.rows(BATCH, 14);
    // Size the rounds from a short probe so each side runs for about `sideMs`.
    const probe = await rowsPerSecond(fp32, batch, 20);
    const iterations = Math.max(10, Math.round(((probe / BATCH) * sideMs) / 1000));
    const fp32Rates: number[] = [];
    const int8Rates: number[] = [];
    for (let i = 0; i < warmups + rounds; i++) {
      const a = await rowsPerSecond(fp32, batch, iterations);
      const b = await rowsPerSecond(int8, batch, iterations);
      if (i >= warmups) {
        fp32Rates.push(a);
        int8Rates.push(b);
      }
      console.log(
        `  ${w.name} round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: fp32 ${Math.round(a).toLocaleString('en-US')} rows/s, int8 ${Math.round(b).toLocaleString('en-US')} rows/s`,
      );
    }
    const result = {
      name: w.name,
      layers: [dim, ...w.mlp.layers.map((l) => l.units)].join('→'),
      fp32Bytes: fp32Bytes.length,
      int8Bytes: int8Bytes.length,
      sizeRatio,
      quantizeMs,
      evalRows: w.evalRows,
      positiveRate: labels.reduce((s, l) => s + l, 0) / labels.length,
      auc32,
      auc8,
      aucDelta: auc32 - auc8,
      maxAbsDiff,
      iterations,
      fp32Rates,
      int8Rates,
      throughputRatio: median(int8Rates.map((r, i) => r / fp32Rates[i]!)),
    };
    console.log(
      `  ${w.name} (${result.layers}): size ${fp32Bytes.length} → ${int8Bytes.length} B (×${sizeRatio.toFixed(3)}), ` +
        `AUC fp32 ${auc32.toFixed(5)} int8 ${auc8.toFixed(5)} (Δ ${result.aucDelta.toExponential(2)}), ` +
        `max |Δp| ${maxAbsDiff.toFixed(4)}, throughput ×${result.throughputRatio.toFixed(2)}`,
    );
    return result;
  } finally {
    await fp32.dispose();
    await int8.dispose();
  }
}

console.log(
  `bench:export — batch ${BATCH}, ${warmups} warm-up + ${rounds} rounds per model, interleaved (fp32, int8), 1 ORT thread, spinning off`,
);
const results = [];
for (const w of WORKLOADS) results.push(await runWorkload(w));
const [flights, wide] = results as [Awaited<ReturnType<typeof runWorkload>>, Awaited<ReturnType<typeof runWorkload>>];
const summary = {
  int8_size_ratio: Math.max(flights.sizeRatio, wide.sizeRatio),
  // Positive: int8 ranks worse than fp32. The headline is the larger loss (or the smaller gain).
  auc_delta: Math.max(flights.aucDelta, wide.aucDelta),
  throughput_ratio: Math.min(flights.throughputRatio, wide.throughputRatio),
  flights_size_ratio: flights.sizeRatio,
  flights_auc_delta: flights.aucDelta,
  flights_throughput_ratio: flights.throughputRatio,
  wide_size_ratio: wide.sizeRatio,
  wide_auc_delta: wide.aucDelta,
  wide_throughput_ratio: wide.throughputRatio,
  rounds,
};
const file = await saveResults('export', { summary, quick, batch: BATCH, results });
console.log(`raw rounds: ${file}`);
console.log(summaryLine('export', summary));
