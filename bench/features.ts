// bench:features — the generic tabular encoder (lib/features/tabular) with the flights example
// spec against the hand-written encodeFlights, on the same 250k real flights rows, interleaved in
// the same run. Both encode in 16,384-row chunks into one reused buffer, as batch scoring does;
// inputs are prepared once, so only encoding is timed. The outputs are checked bit-identical.
//
//   npm run bench:features            # 250k rows, 2 warm-ups + 7 rounds each
//   npm run bench:features -- --quick # 25k rows, 1 round (smoke test; asserts nothing on speed)
import { withDuck } from '../lib/data/duck.ts';
import { flightsParquetPath } from '../lib/data/flights.ts';
import {
  batchFromInstances as legacyBatchFromInstances,
  encodeFlights,
  fitFlightsFeatureSpec,
  type FlightInstance,
  type FlightsBatch,
} from '../examples/flights/legacy-encoder.ts';
import {
  batchFromDuckColumns,
  batchFromInstances,
  createFeatureEncoder,
  featureColumnsSelect,
  fitFeatures,
  loadFeatureSpec,
  type FeatureBatch,
} from '../lib/features/tabular/index.ts';
import { isQuick, median, saveResults, summaryLine } from './lib.ts';

const quick = isQuick();
const rows = quick ? 25_000 : 250_000;
const rounds = quick ? 1 : 7;
const warmups = quick ? 0 : 2;
/** Passes over all rows per timed round, so a round lasts long enough to time. */
const passes = quick ? 1 : 4;
const CHUNK = 16_384;

const spec = await loadFeatureSpec(new URL('../examples/flights/features.yaml', import.meta.url).pathname);
const { hand, encoder, generic } = await withDuck(async (duck) => {
  await duck.run(`CREATE TEMP TABLE rows_all AS SELECT * FROM read_parquet('${flightsParquetPath()}') LIMIT ${rows}`);
  const handState = await fitFlightsFeatureSpec(duck, 'rows_all', 'bench');
  const fitted = await fitFeatures(duck, 'rows_all', spec, { fittedOn: 'bench' });
  const cols = await duck.columns(`SELECT ${featureColumnsSelect(fitted.spec)}, epoch_ms(date)::DOUBLE AS ms FROM rows_all`);
  const handBatch: FlightsBatch = {
    dateMs: Float64Array.from(cols.ms as number[]),
    distance: Float64Array.from(cols.distance as number[]),
    origin: cols.origin as string[],
    destination: cols.destination as string[],
  };
  const genericBatch = batchFromDuckColumns(fitted.spec, cols);
  // Chunks prepared up front, shared by both encoders where the shapes agree.
  const hand: { state: typeof handState; chunks: FlightsBatch[] } = { state: handState, chunks: [] };
  const generic: FeatureBatch[] = [];
  for (let start = 0; start < rows; start += CHUNK) {
    const end = Math.min(rows, start + CHUNK);
    const origin = (handBatch.origin as string[]).slice(start, end);
    const destination = (handBatch.destination as string[]).slice(start, end);
    const distance = (handBatch.distance as Float64Array).subarray(start, end);
    hand.chunks.push({ dateMs: (handBatch.dateMs as Float64Array).subarray(start, end), distance, origin, destination });
    generic.push({
      rows: end - start,
      columns: { date: (genericBatch.columns.date as Float64Array).subarray(start, end), distance, origin, destination },
    });
  }
  return { hand, encoder: createFeatureEncoder(fitted), generic };
});

const out = new Float32Array(CHUNK * encoder.dimension);
const check = { hand: new Float32Array(rows * encoder.dimension), generic: new Float32Array(rows * encoder.dimension) };

function runHand(copy?: Float32Array): number {
  const start = performance.now();
  for (let p = 0; p < passes; p++)
    hand.chunks.forEach((chunk, c) => {
      encodeFlights(hand.state, chunk, out);
      if (copy) copy.set(out.subarray(0, chunk.origin.length * encoder.dimension), c * CHUNK * encoder.dimension);
    });
  return performance.now() - start;
}

function runGeneric(copy?: Float32Array): number {
  const start = performance.now();
  for (let p = 0; p < passes; p++)
    generic.forEach((chunk, c) => {
      encoder.encode(chunk, out);
      if (copy) copy.set(out.subarray(0, chunk.rows * encoder.dimension), c * CHUNK * encoder.dimension);
    });
  return performance.now() - start;
}

runHand(check.hand);
runGeneric(check.generic);
const identical = Buffer.from(check.hand.buffer).equals(Buffer.from(check.generic.buffer));
if (!identical) throw new Error('the generic encoder and encodeFlights disagree on the benchmark rows');

for (let w = 0; w < warmups; w++) {
  runHand();
  runGeneric();
}
const results: { round: number; handMs: number; genericMs: number; ratio: number }[] = [];
for (let r = 0; r < rounds; r++) {
  // Alternate which goes first, so neither always runs on a warmer cache.
  const [handMs, genericMs] = r % 2 === 0 ? [runHand(), runGeneric()] : ((g) => [runHand(), g])(runGeneric());
  results.push({ round: r, handMs, genericMs, ratio: genericMs / handMs });
  console.log(
    `round ${r}: encodeFlights ${handMs.toFixed(1)} ms, generic ${genericMs.toFixed(1)} ms, ratio ${(genericMs / handMs).toFixed(3)}`,
  );
}

// The serving path: JSON request instances (1 or 32 flights) → columns → vectors, per request, as
// the predictor does it — the generic parser + encoder against the hand-written ones it replaced.
const instances: FlightInstance[] = Array.from({ length: 4096 }, (_, i) => {
  const c = hand.chunks[Math.floor(i / CHUNK)]!;
  const j = i % CHUNK;
  const iso = new Date(c.dateMs[j]!).toISOString().slice(0, 19);
  return { date: iso, distance: c.distance[j]!, origin: c.origin[j]!, destination: c.destination[j]! };
});
function requests(size: number, generic: boolean): number {
  const start = performance.now();
  for (let p = 0; p < (quick ? 1 : 20); p++)
    for (let i = 0; i + size <= instances.length; i += size) {
      const group = instances.slice(i, i + size);
      if (generic) {
        const parsed = batchFromInstances(encoder.fitted.spec, group);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors[0]));
        encoder.encode(parsed.batch, out);
      } else encodeFlights(hand.state, legacyBatchFromInstances(group), out);
    }
  return performance.now() - start;
}
const requestRatios: Record<number, number[]> = { 1: [], 32: [] };
for (let r = 0; r < warmups + rounds; r++) {
  for (const size of [1, 32]) {
    const [h, g] =
      r % 2 === 0 ? [requests(size, false), requests(size, true)] : ((gg) => [requests(size, false), gg])(requests(size, true));
    if (r >= warmups) requestRatios[size]!.push(g / h);
  }
}
console.log(
  `request path (parse + encode per request): generic/hand-written time ratio at 1 instance ${median(requestRatios[1]!).toFixed(3)}, at 32 ${median(requestRatios[32]!).toFixed(3)}`,
);

const rowsEncoded = rows * passes;
const handMs = median(results.map((r) => r.handMs));
const genericMs = median(results.map((r) => r.genericMs));
const file = await saveResults('features', { rows, passes, chunk: CHUNK, dimension: encoder.dimension, results, requestRatios });
console.log(`dimension ${encoder.dimension}, ${rows} rows × ${passes} passes per round; raw rounds in ${file}`);
console.log(
  summaryLine('features', {
    generic_rows_per_s: Math.round(rowsEncoded / (genericMs / 1000)),
    handwritten_rows_per_s: Math.round(rowsEncoded / (handMs / 1000)),
    time_ratio: median(results.map((r) => r.ratio)),
    request_time_ratio_b1: median(requestRatios[1]!),
    request_time_ratio_b32: median(requestRatios[32]!),
    identical: identical ? 1 : 0,
    rounds,
  }),
);
