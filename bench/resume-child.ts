// One training process for B10: trains the flights MLP with checkpoints in a local artifact
// store, resuming from the newest intact checkpoint of its run, and prints each step as a JSON
// line so the parent knows when to kill it.
import { withDuck } from '../lib/data/duck.ts';
import { loadModelIO } from '../lib/features/tabular/index.ts';
import { silentLogger } from '../lib/log.ts';
import { LocalArtifactStore } from '../lib/storage/index.ts';
import { selectBackend } from '../lib/training/backend.ts';
import { latestValidCheckpoint, saveCheckpoint } from '../lib/training/tfjs/checkpoint-store.ts';
import { loadSplit } from '../lib/training/data.ts';
import { trainMlp } from '../lib/training/tfjs/trainer.ts';

const [storeUri, runKey, trainUri, validationUri, specUri, everyStepsArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const everySteps = Number(everyStepsArg);
const store = await LocalArtifactStore.create(storeUri);
await selectBackend('wasm', silentLogger());
const io = await loadModelIO(store, specUri);
const [train, validation] = await withDuck(async (duck) => [
  await loadSplit(duck, { store }, trainUri, io),
  await loadSplit(duck, { store }, validationUri, io),
]);
const resume = await latestValidCheckpoint(store, runKey);
let lastSaved = resume?.checkpoint.state.globalStep ?? 0;
const result = await trainMlp(
  { hidden: [64, 32], epochs: 4, batchSize: 256, seed: 3, patience: 10 },
  train,
  validation,
  {
    onStep: (p) => console.log(JSON.stringify({ type: 'step', globalStep: p.globalStep, total: p.stepsPerEpoch * 4 })),
    shouldCheckpoint: (p) => p.globalStep - lastSaved >= everySteps,
    onCheckpoint: async (ckpt) => {
      await saveCheckpoint(store, runKey, ckpt);
      lastSaved = ckpt.state.globalStep;
    },
  },
  resume?.checkpoint,
);
console.log(
  JSON.stringify({
    type: 'done',
    globalStep: result.globalStep,
    resumedFromStep: result.resumedFrom?.globalStep ?? null,
    valLoss: result.bestValLoss,
  }),
);
