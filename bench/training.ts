// B6 — bench:training: the flights MLP (fixed seed, 3 epochs) on the fastest correct TF.js
// backend vs the pure-JS `cpu` backend, interleaved in the same run; `auc_delta` checks the
// faster backend learns the same model (test-split AUC).
//
//   npm run bench:training            # 80k real flights, 1 warm-up + 5 rounds
//   npm run bench:training -- --quick # 10k flights, 1 round
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { rocAuc } from '../lib/evaluation/auc.ts';
import { predictProbabilities, trainMlp, type Dataset } from '../lib/training/tfjs/trainer.ts';
import { initVariables, restore } from '../lib/training/tfjs/model.ts';
import { Rng } from '../lib/random.ts';
import { prepareFlightsSlice } from './flights-slice.ts';
import { isQuick, median, saveResults, summaryLine, timed } from './lib.ts';

const quick = isQuick();
const rows = quick ? 10_000 : 80_000;
const rounds = quick ? 1 : 5;
const warmups = quick ? 0 : 1;
const config = { hidden: [64, 32], epochs: 3, batchSize: 512, seed: 42, patience: 10 };

async function trainOn(backend: string, train: Dataset, validation: Dataset, test: Dataset) {
  await tf.setBackend(backend);
  await tf.ready();
  const { ms, value: result } = await timed(() => trainMlp(config, train, validation));
  const vars = initVariables({ inputDim: train.dim, hidden: config.hidden }, new Rng(0));
  restore(vars, result.weights);
  const auc = rocAuc(predictProbabilities(vars, test), test.y);
  [...vars.kernels, ...vars.biases].forEach((v) => v.dispose());
  return { ms, auc, valLoss: result.bestValLoss };
}

const slice = await prepareFlightsSlice(rows);
console.log(
  `bench:training — ${slice.train.rows} train / ${slice.validation.rows} validation / ${slice.test.rows} test rows, ${slice.train.dim} features, MLP ${config.hidden.join('→')}, ${config.epochs} epochs`,
);
const candidates = ['wasm'];
const cpu: Array<{ ms: number; auc: number }> = [];
const fast: Record<string, Array<{ ms: number; auc: number }>> = Object.fromEntries(candidates.map((c) => [c, []]));
for (let i = 0; i < warmups + rounds; i++) {
  const c = await trainOn('cpu', slice.train, slice.validation, slice.test);
  const results = [];
  for (const b of candidates) results.push([b, await trainOn(b, slice.train, slice.validation, slice.test)] as const);
  if (i >= warmups) {
    cpu.push(c);
    for (const [b, r] of results) fast[b]!.push(r);
  }
  console.log(
    `  round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: cpu ${c.ms.toFixed(0)} ms (AUC ${c.auc.toFixed(4)}), ${results.map(([b, r]) => `${b} ${r.ms.toFixed(0)} ms (AUC ${r.auc.toFixed(4)})`).join(', ')}`,
  );
}
// Fastest correct backend: the quickest whose AUC stays within 0.005 of cpu's.
const ranked = candidates
  .map((b) => ({
    b,
    speedup: median(fast[b]!.map((r, i) => cpu[i]!.ms / r.ms)),
    aucDelta: median(fast[b]!.map((r, i) => Math.abs(r.auc - cpu[i]!.auc))),
  }))
  .sort((x, y) => y.speedup - x.speedup);
const best = ranked.find((r) => r.aucDelta <= 0.005) ?? ranked[0]!;
const summary = {
  speedup: best.speedup,
  auc_delta: best.aucDelta,
  backend: best.b,
  cpu_s: median(cpu.map((r) => r.ms)) / 1000,
  fastest_s: median(fast[best.b]!.map((r) => r.ms)) / 1000,
  auc: median(fast[best.b]!.map((r) => r.auc)),
  rows: slice.train.rows,
  rounds,
};
console.log(`raw rounds: ${await saveResults('training', { summary, cpu, fast })}`);
console.log(summaryLine('training', summary));
