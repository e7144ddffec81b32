// flights-v1 as a spec, not code: examples/flights/features.yaml, fitted by the generic fitter on a
// real slice of the flights data, encodes every row to the same Float32 bits as the hand-written
// encodeFlights with fitFlightsFeatureSpec's state — through the training path (DuckDB columns)
// and the serving path (JSON instances).
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { encodeFlights, featureDimension, featureNames, fitFlightsFeatureSpec } from '../../examples/flights/legacy-encoder.ts';
import {
  batchFromDuckColumns,
  batchFromInstances,
  createFeatureEncoder,
  featureColumnsSelect,
  fitFeatures,
  loadFeatureSpec,
  type FeatureSpec,
} from '../../lib/features/tabular/index.ts';

const N = 50_000;
const SPEC_PATH = new URL('../../examples/flights/features.yaml', import.meta.url).pathname;

/** The example spec with other vocabulary limits, to compare against fitFlightsFeatureSpec's options. */
function withVocabulary(spec: FeatureSpec, minCount: number, maxSize: number): FeatureSpec {
  return { features: spec.features.map((f) => (f.kind === 'categorical' ? { ...f, vocabulary: { minCount, maxSize } } : f)) };
}

describe('flights-v1 written as a feature spec', () => {
  it.each([
    { minCount: 500, maxVocab: 128, label: 'the example as written (minCount 500, maxSize 128)' },
    { minCount: 5, maxVocab: 60, label: 'a vocabulary cut by maxSize (minCount 5, maxSize 60)' },
  ])(
    'encodes bit-identically to encodeFlights: $label',
    async ({ minCount, maxVocab }) => {
      const example = await loadFeatureSpec(SPEC_PATH);
      const spec = minCount === 500 ? example : withVocabulary(example, minCount, maxVocab);
      await withDuck(async (duck) => {
        await duck.run(
          `CREATE TEMP TABLE slice AS SELECT * FROM read_parquet('${flightsParquetPath()}') USING SAMPLE reservoir(${N} ROWS) REPEATABLE (11)`,
        );
        const handState = await fitFlightsFeatureSpec(duck, 'slice', 'slice', { minCount, maxVocab });
        const fitted = await fitFeatures(duck, 'slice', spec, { fittedOn: 'slice' });
        const encoder = createFeatureEncoder(fitted);
        expect(encoder.dimension).toBe(featureDimension(handState));
        expect(encoder.names()).toEqual(featureNames(handState));
        expect(fitted.state[3]).toEqual({ kind: 'categorical', vocabulary: handState.originVocab });
        expect(fitted.state[4]).toEqual({ kind: 'categorical', vocabulary: handState.destinationVocab });

        const cols = await duck.columns(
          `SELECT ${featureColumnsSelect(fitted.spec)}, epoch_ms(date)::DOUBLE AS ms, strftime(date, '%Y-%m-%dT%H:%M:%S') AS iso
         FROM slice ORDER BY rowid`,
        );
        const hand = encodeFlights(handState, {
          dateMs: Float64Array.from(cols.ms as number[]),
          distance: Float64Array.from(cols.distance as number[]),
          origin: cols.origin as string[],
          destination: cols.destination as string[],
        });
        const training = encoder.encode(batchFromDuckColumns(fitted.spec, cols));
        expect(training.length).toBe(N * encoder.dimension);
        expect(Buffer.from(training.buffer).equals(Buffer.from(hand.buffer))).toBe(true);

        // The serving path: JSON instances as a request carries them.
        const instances = JSON.parse(
          JSON.stringify(
            (cols.iso as string[]).map((date, i) => ({
              date,
              distance: (cols.distance as number[])[i],
              origin: (cols.origin as string[])[i],
              destination: (cols.destination as string[])[i],
            })),
          ),
        ) as unknown[];
        const parsed = batchFromInstances(fitted.spec, instances);
        if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors.slice(0, 3)));
        const serving = encoder.encode(parsed.batch);
        expect(Buffer.from(serving.buffer).equals(Buffer.from(hand.buffer))).toBe(true);

        // The slice must exercise the unseen bucket, or the comparison would not cover it.
        const oov = encoder.names().indexOf('origin=<oov>');
        let unseen = 0;
        for (let i = 0; i < N; i++) unseen += training[i * encoder.dimension + oov]!;
        expect(unseen).toBeGreaterThan(0);
      });
    },
    120_000,
  );
});
