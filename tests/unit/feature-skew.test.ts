// No training/serving skew: the same flights encoded through the training path (DuckDB columns)
// and the serving path (JSON instances as a request carries them) give identical vectors.
import { describe, expect, it } from 'vitest';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { fitFlightsFeatureSpec } from '../../lib/features/fit.ts';
import {
  batchFromInstances,
  dayOfWeekOf,
  encodeFlights,
  featureDimension,
  featureSpecHash,
  flightsLabel,
  FLIGHTS_LABEL_SQL,
  hourOf,
  parseNaiveTimestamp,
  type FlightInstance,
} from '../../lib/features/flights.ts';

const N = 5000;
const SAMPLE = `(SELECT * FROM read_parquet('${flightsParquetPath()}') USING SAMPLE reservoir(${N} ROWS) REPEATABLE (7))`;

describe('flights features', () => {
  it('encode identically via the training path and the serving path', async () => {
    await withDuck(async (duck) => {
      await duck.run(`CREATE TEMP TABLE sample AS SELECT * FROM ${SAMPLE}`);
      const spec = await fitFlightsFeatureSpec(duck, `read_parquet('${flightsParquetPath()}')`, 'test', { minCount: 1000, maxVocab: 60 });
      // Training path: typed columns straight from DuckDB.
      const cols = await duck.columns(
        `SELECT epoch_ms(date)::DOUBLE AS ms, distance::DOUBLE AS distance, origin, destination, delay::INTEGER AS delay,
                ${FLIGHTS_LABEL_SQL} AS label, hour(date) AS h, isodow(date) - 1 AS dow,
                strftime(date, '%Y-%m-%dT%H:%M:%S') AS iso FROM sample ORDER BY rowid`,
      );
      const training = encodeFlights(spec, {
        dateMs: Float64Array.from(cols.ms as number[]),
        distance: Float64Array.from(cols.distance as number[]),
        origin: cols.origin as string[],
        destination: cols.destination as string[],
      });
      // Serving path: what a JSON request carries, parsed by the server-side code.
      const instances: FlightInstance[] = (cols.iso as string[]).map((date, i) => ({
        date,
        distance: (cols.distance as number[])[i]!,
        origin: (cols.origin as string[])[i]!,
        destination: (cols.destination as string[])[i]!,
      }));
      const serving = encodeFlights(spec, batchFromInstances(JSON.parse(JSON.stringify(instances)) as FlightInstance[]));
      expect(training.length).toBe(N * featureDimension(spec));
      expect(Buffer.from(serving.buffer).equals(Buffer.from(training.buffer))).toBe(true);

      // The TS time math agrees with DuckDB's, and the label agrees with its SQL.
      (cols.ms as number[]).forEach((ms, i) => {
        expect(hourOf(ms)).toBe((cols.h as number[])[i]);
        expect(dayOfWeekOf(ms)).toBe((cols.dow as number[])[i]);
        expect(flightsLabel((cols.delay as number[])[i]!)).toBe((cols.label as number[])[i]);
      });
      // Some rows must hit the out-of-vocabulary slot, or the test would not cover it.
      const oov = 32 + spec.originVocab.length;
      let oovCount = 0;
      for (let i = 0; i < N; i++) oovCount += training[i * featureDimension(spec) + oov]!;
      expect(oovCount).toBeGreaterThan(0);
    });
  }, 60_000);

  it('hashes the fitted state deterministically', () => {
    const spec = {
      kind: 'flights-v1' as const,
      fittedOn: 'a',
      distance: { mean: 700, std: 500 },
      originVocab: ['ATL'],
      destinationVocab: ['ORD'],
    };
    expect(featureSpecHash(spec)).toBe(featureSpecHash({ ...spec, fittedOn: 'b' }));
    expect(featureSpecHash(spec)).not.toBe(featureSpecHash({ ...spec, originVocab: ['ORD'] }));
  });

  it('parses naive timestamps and refuses zones and impossible dates', () => {
    expect(parseNaiveTimestamp('2001-03-04T13:45:00')).toBe(Date.UTC(2001, 2, 4, 13, 45));
    expect(parseNaiveTimestamp('2001-03-04 13:45')).toBe(Date.UTC(2001, 2, 4, 13, 45));
    expect(parseNaiveTimestamp('2001-03-04T13:45:00Z')).toBeNull();
    expect(parseNaiveTimestamp('2001-02-30T10:00:00')).toBeNull();
    expect(parseNaiveTimestamp('yesterday')).toBeNull();
    expect(() => batchFromInstances([{ date: '2001-03-04T13:45:00+02:00', distance: 1, origin: 'A', destination: 'B' }])).toThrow(
      'instance 0: date',
    );
  });
});
