// B13 — bench:compress: smaller models from a wide MLP teacher (32→1024→1024→1, ~1.1M parameters)
// trained by the built-in TF.js trainer on synthetic dense rows (32 inputs; the label is a noisy
// function of pairwise products and a linear part, so depth and width matter). From the teacher:
// a distilled student (32→64→32→1, soft labels at T = 2 blended 50/50 with the hard labels),
// magnitude pruning at 50% (one fine-tuning epoch, mask held) and pruning by neuron at 50% (a
// 32→512→512→1 dense net, one fine-tuning epoch) — the trainer's own code (lib/training/tfjs/
// compress.ts). Both prunings start from the teacher's weights one epoch before its end, so the
// dense and the pruned models get the same number of training epochs. Each model is exported to ONNX as serving would load it; AUC on a held-out test
// split is scored with ONNX Runtime; rows/s at batch 1 and 256 are measured teacher vs student vs
// neuron-pruned, interleaved round by round (1 ORT thread, spinning off), medians of the per-round
// ratios. Training and AUCs are deterministic (seeded) and run once; throughput runs in rounds.
//
//   npm run bench:compress            # 10k training rows, 3 teacher epochs, 1 warm-up + 5 rounds
//   npm run bench:compress -- --quick # a 256-wide teacher on 4k rows, 1 round (smoke test)
import { rocAuc } from '../lib/evaluation/auc.ts';
import { exportMlpToOnnx, OnnxSession } from '../lib/onnx/index.ts';
import { createLogger } from '../lib/log.ts';
import { selectBackend } from '../lib/training/backend.ts';
import { mlpWeightsFrom } from '../lib/training/export.ts';
import { compressMlp, kernelParameters, kernelSparsity, type MlpModel, type TuneOptions } from '../lib/training/tfjs/compress.ts';
import { layerSizes } from '../lib/training/tfjs/model.ts';
import { trainMlp, type Dataset } from '../lib/training/tfjs/trainer.ts';
import { Rng } from '../lib/random.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';

const quick = isQuick();
const rounds = quick ? 1 : 5;
const warmups = 1;
const DIM = 32;
const WIDTH = quick ? 256 : 1024;
const TRAIN_ROWS = quick ? 4_000 : 10_000;
const VALIDATION_ROWS = quick ? 2_000 : 5_000;
const TEST_ROWS = quick ? 5_000 : 30_000;
/** The dense model trains this many epochs; pruning starts from its weights one epoch earlier and
 * fine-tunes one epoch, so dense and pruned models get the same training budget. */
const TEACHER_EPOCHS = quick ? 2 : 3;
const STUDENT_HIDDEN = [64, 32];
const SPARSITY = 0.5;
/** Time each model spends scoring per round and batch size, so rounds beat timer noise. */
const sideMs = quick ? 100 : 300;
const BATCHES = [1, 256] as const;
const metadata = { featureSpecHash: 'bench', datasetVersion: 'synthetic' };

function synthetic(rows: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const truth = new Rng(77); // one ground truth for every split
  const w = Array.from({ length: DIM }, () => truth.next() * 2 - 1);
  const x = new Float32Array(rows * DIM);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * DIM, (r + 1) * DIM);
    for (let d = 0; d < DIM; d++) row[d] = rng.next() * 2 - 1;
    let z = 0;
    for (let i = 0; i < 8; i++) z += 2 * row[2 * i]! * row[2 * i + 1]!;
    for (let d = 16; d < DIM; d++) z += 0.5 * w[d]! * row[d]!;
    y[r] = rng.next() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
  }
  return { x, y, rows, dim: DIM };
}

async function score(session: OnnxSession, data: Dataset): Promise<Float32Array> {
  const out = new Float32Array(data.rows);
  for (let r = 0; r < data.rows; r += 4096) {
    const n = Math.min(4096, data.rows - r);
    out.set(await session.run(data.x.subarray(r * DIM, (r + n) * DIM), n), r);
  }
  return out;
}

async function rowsPerSecond(session: OnnxSession, x: Float32Array, batch: number, iterations: number): Promise<number> {
  const input = x.subarray(0, batch * DIM);
  const { ms } = await timed(async () => {
    for (let i = 0; i < iterations; i++) await session.run(input, batch);
  });
  return (batch * iterations) / (ms / 1000);
}

const parameters = (m: MlpModel) => kernelParameters(m.layers) + m.layers.reduce((n, [, o]) => n + o, 0);

await selectBackend('auto', createLogger({ level: 'warn' }));
const train = synthetic(TRAIN_ROWS, 1);
const validation = synthetic(VALIDATION_ROWS, 2);
const test = synthetic(TEST_ROWS, 3);
console.log(
  `bench:compress — teacher 32→${WIDTH}→${WIDTH}→1 on ${TRAIN_ROWS} synthetic rows (${TEACHER_EPOCHS} epochs), ` +
    `student 32→${STUDENT_HIDDEN.join('→')}→1, pruning at ${SPARSITY}; AUC on ${TEST_ROWS} test rows via ONNX Runtime; ` +
    `${warmups} warm-up + ${rounds} rounds, 1 ORT thread, spinning off`,
);

const config = { hidden: [WIDTH, WIDTH], epochs: TEACHER_EPOCHS, batchSize: 256, learningRate: 0.001, patience: 10, seed: 7, l2: 0 };
let beforeLastEpoch: MlpModel | undefined;
const { ms: teacherMs, value: trained } = await timed(() =>
  trainMlp(config, train, validation, {
    // The trainer checkpoints at each epoch boundary but the last: keep the weights one epoch short.
    onCheckpoint: async (ckpt) => {
      if (ckpt.state.epoch === TEACHER_EPOCHS - 1 && ckpt.state.stepInEpoch === 0)
        beforeLastEpoch = { weights: ckpt.weights, layers: layerSizes({ inputDim: DIM, hidden: config.hidden }), hidden: config.hidden };
    },
  }),
);
const teacher: MlpModel = { weights: trained.weights, layers: trained.layers, hidden: config.hidden };
if (!beforeLastEpoch) throw new Error('no checkpoint before the last epoch');
const tune: TuneOptions = {
  epochs: TEACHER_EPOCHS,
  batchSize: 256,
  learningRate: 0.001,
  l2: 0,
  seed: 7,
  classWeight: 'balanced',
  task: { kind: 'binary' },
};
const compress = async (c: Parameters<typeof compressMlp>[3], from = teacher) =>
  timed(async () => (await compressMlp(from, train, validation, c, tune)).model);
const { ms: studentMs, value: student } = await compress({
  distill: { hidden: STUDENT_HIDDEN, temperature: 2, alpha: 0.5, epochs: quick ? 4 : 20 },
  maxMetricDrop: 1,
});
const { ms: magnitudeMs, value: magnitude } = await compress(
  {
    prune: { sparsity: SPARSITY, method: 'magnitude', fineTuneEpochs: 1 },
    maxMetricDrop: 1,
  },
  beforeLastEpoch,
);
const { ms: neuronMs, value: neuron } = await compress(
  {
    prune: { sparsity: SPARSITY, method: 'neuron', fineTuneEpochs: 1 },
    maxMetricDrop: 1,
  },
  beforeLastEpoch,
);
console.log(
  `  training: teacher ${(teacherMs / 1000).toFixed(1)} s, student ${(studentMs / 1000).toFixed(1)} s, ` +
    `magnitude ${(magnitudeMs / 1000).toFixed(1)} s, neuron ${(neuronMs / 1000).toFixed(1)} s`,
);

const models = { teacher, student, magnitude, neuron };
const sessions = Object.fromEntries(
  await Promise.all(
    Object.entries(models).map(
      async ([name, m]) => [name, await OnnxSession.create(exportMlpToOnnx(mlpWeightsFrom(m.weights, m.layers), metadata))] as const,
    ),
  ),
) as Record<keyof typeof models, OnnxSession>;
try {
  const auc = Object.fromEntries(
    await Promise.all(Object.entries(sessions).map(async ([name, s]) => [name, rocAuc(await score(s, test), test.y)] as const)),
  ) as Record<keyof typeof models, number>;
  for (const [name, m] of Object.entries(models))
    console.log(
      `  ${name}: 32→${m.hidden.join('→')}→1, ${parameters(m).toLocaleString('en-US')} parameters, ` +
        `kernel sparsity ${kernelSparsity(m).toFixed(3)}, test AUC ${auc[name as keyof typeof models].toFixed(5)}`,
    );

  // Iterations per side from a short probe of the slowest model, so each side runs ~sideMs.
  const timedNames = ['teacher', 'student', 'neuron'] as const;
  const rates: Record<string, Record<(typeof timedNames)[number], number[]>> = {};
  const iterations: Record<number, Record<string, number>> = {};
  for (const batch of BATCHES) {
    rates[batch] = { teacher: [], student: [], neuron: [] };
    iterations[batch] = {};
    for (const name of timedNames) {
      const probe = await rowsPerSecond(sessions[name], test.x, batch, batch === 1 ? 200 : 10);
      iterations[batch][name] = Math.max(10, Math.round(((probe / batch) * sideMs) / 1000));
    }
  }
  for (let i = 0; i < warmups + rounds; i++) {
    const line: string[] = [];
    for (const batch of BATCHES)
      for (const name of timedNames) {
        const r = await rowsPerSecond(sessions[name], test.x, batch, iterations[batch]![name]!);
        if (i >= warmups) rates[batch]![name].push(r);
        line.push(`${name}@${batch} ${Math.round(r).toLocaleString('en-US')}`);
      }
    console.log(`  round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: ${line.join(', ')} rows/s`);
  }
  const ratio = (batch: number, name: 'student' | 'neuron') => median(rates[batch]![name].map((r, k) => r / rates[batch]!.teacher[k]!));
  const summary = {
    distill_throughput_ratio: Math.min(ratio(1, 'student'), ratio(256, 'student')),
    distill_auc_delta: auc.teacher - auc.student,
    prune_sparsity: kernelSparsity(magnitude),
    prune_auc_delta: auc.teacher - auc.magnitude,
    distill_throughput_ratio_b1: ratio(1, 'student'),
    distill_throughput_ratio_b256: ratio(256, 'student'),
    neuron_sparsity: 1 - kernelParameters(neuron.layers) / kernelParameters(teacher.layers),
    neuron_auc_delta: auc.teacher - auc.neuron,
    neuron_throughput_ratio: Math.min(ratio(1, 'neuron'), ratio(256, 'neuron')),
    teacher_auc: auc.teacher,
    teacher_rows_per_s_b1: median(rates[1]!.teacher),
    teacher_rows_per_s_b256: median(rates[256]!.teacher),
    rounds,
  };
  const file = await saveResults('compress', {
    summary,
    quick,
    conditions: {
      width: WIDTH,
      trainRows: TRAIN_ROWS,
      testRows: TEST_ROWS,
      teacherEpochs: TEACHER_EPOCHS,
      studentHidden: STUDENT_HIDDEN,
      sparsity: SPARSITY,
    },
    training: { teacherMs, studentMs, magnitudeMs, neuronMs, teacherHistory: trained.history },
    models: Object.fromEntries(
      Object.entries(models).map(([n, m]) => [n, { hidden: m.hidden, parameters: parameters(m), sparsity: kernelSparsity(m) }]),
    ),
    auc,
    iterations,
    rates,
  });
  console.log(`raw rounds: ${file}`);
  console.log(summaryLine('compress', summary));
} finally {
  await Promise.all(Object.values(sessions).map((s) => s.dispose()));
}
