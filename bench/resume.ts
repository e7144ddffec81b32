// B10 — bench:resume: a training process is SIGKILLed at ~60% of its run and a new process
// resumes from the newest checkpoint in the artifact store. Measures the repeated work (steps
// redone after the kill, relative to the checkpoint interval) and the extra wall time, against
// the same run uninterrupted, interleaved in the same benchmark.
//
//   npm run bench:resume            # 40k real flights, 4 epochs, 1 warm-up + 5 rounds
//   npm run bench:resume -- --quick # 8k flights, 1 round
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { prepareFlightsSlice } from './flights-slice.ts';
import { isQuick, median, saveResults, summaryLine } from './lib.ts';

const quick = isQuick();
const rows = quick ? 8_000 : 40_000;
const rounds = quick ? 1 : 5;
const warmups = quick ? 0 : 1;
const everySteps = 25;
const killAt = 0.6;
const root = fileURLToPath(new URL('..', import.meta.url));

interface ChildRun {
  ms: number;
  killedAtStep: number | null;
  done: { globalStep: number; resumedFromStep: number | null; valLoss: number } | null;
}

function runChild(args: string[], killAtFraction?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/resume-child.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let killedAtStep: number | null = null;
    let done: ChildRun['done'] = null;
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as {
        type: string;
        globalStep: number;
        total?: number;
        resumedFromStep?: number | null;
        valLoss?: number;
      };
      if (
        msg.type === 'step' &&
        killAtFraction !== undefined &&
        killedAtStep === null &&
        msg.globalStep >= Math.round(msg.total! * killAtFraction)
      ) {
        killedAtStep = msg.globalStep;
        child.kill('SIGKILL');
      }
      if (msg.type === 'done') done = { globalStep: msg.globalStep, resumedFromStep: msg.resumedFromStep ?? null, valLoss: msg.valLoss! };
    });
    child.on('error', reject);
    child.on('exit', () => resolve({ ms: performance.now() - start, killedAtStep, done }));
  });
}

const slice = await prepareFlightsSlice(rows);
const args = (runKey: string) => [
  slice.store.baseUri,
  runKey,
  slice.trainUri,
  slice.validationUri,
  slice.featureSpecUri,
  String(everySteps),
];
console.log(`bench:resume — ${slice.train.rows} train rows, checkpoint every ${everySteps} steps, SIGKILL at ${killAt * 100}%`);
const plain: number[] = [];
const interrupted: number[] = [];
const repeatedRatios: number[] = [];
const lossDeltas: number[] = [];
for (let i = 0; i < warmups + rounds; i++) {
  const a = await runChild(args(`plain-${i}`));
  const first = await runChild(args(`killed-${i}`), killAt);
  const second = await runChild(args(`killed-${i}`));
  if (!a.done || !second.done || first.killedAtStep === null || second.done.resumedFromStep === null)
    throw new Error('a run did not finish or did not resume');
  const repeated = first.killedAtStep - second.done.resumedFromStep;
  if (i >= warmups) {
    plain.push(a.ms);
    interrupted.push(first.ms + second.ms);
    repeatedRatios.push(repeated / everySteps);
    lossDeltas.push(Math.abs(second.done.valLoss - a.done.valLoss));
  }
  console.log(
    `  round ${i + 1}${i < warmups ? ' (warm-up)' : ''}: uninterrupted ${(a.ms / 1000).toFixed(2)} s; killed at step ${first.killedAtStep}, resumed from ${second.done.resumedFromStep} (${repeated} steps redone), total ${((first.ms + second.ms) / 1000).toFixed(2)} s`,
  );
}
const summary = {
  repeated_work_ratio: median(repeatedRatios),
  extra_wall_s: median(interrupted.map((t, i) => (t - plain[i]!) / 1000)),
  uninterrupted_s: median(plain) / 1000,
  val_loss_delta: median(lossDeltas),
  checkpoint_every_steps: everySteps,
  rounds,
};
console.log(`raw rounds: ${await saveResults('resume', { summary, plain, interrupted, repeatedRatios, lossDeltas })}`);
console.log(summaryLine('resume', summary));
