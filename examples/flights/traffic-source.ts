// The flights example's traffic: one month of real flights, in scheduled-departure order, read
// from the bundled dataset a chunk at a time (DuckDB holds the sorted month; JavaScript holds one
// chunk). `flywheel traffic replay --month` sends these; any other table replays through
// lib/traffic/table-source.ts.
import { Duck, sqlString } from '../../lib/data/duck.ts';
import { flightsParquetPath, MONTH_PATTERN } from '../../lib/data/flights.ts';
import { TrafficReplayError } from '../../lib/traffic/errors.ts';
import type { ReplayRow } from '../../lib/traffic/source.ts';

/** A flight as the example's model reads it (examples/flights/features.yaml). */
export interface FlightFields {
  date: string;
  distance: number;
  origin: string;
  destination: string;
}

/** One flight to replay: the instance, the key it routes by (`SFO-LAX-2001-03-04T13:45:00`), and
 * its label: 1 when it left more than 15 minutes late (the example's label expression
 * `delay > 15`, examples/flights/model.yaml). */
export type ReplayFlight = ReplayRow & { instance: FlightFields; label: 0 | 1 };

export interface MonthFlightsOptions {
  /** Stop after this many flights (the earliest ones). */
  limit?: number;
  /** Replay a seeded random sample of this many of the month's flights, still in scheduled
   * order: time-compressed traffic whose every window spans the whole month. */
  sample?: number;
  /** Flights per DuckDB read. @default 5000 */
  chunkRows?: number;
  signal?: AbortSignal;
}

/** The month's flights from the bundled dataset, earliest first. Throws a `TrafficReplayError`
 * (`badMonth`) for a malformed month or one the data does not cover. */
export async function* monthFlights(month: string, options: MonthFlightsOptions = {}): AsyncGenerator<ReplayFlight> {
  if (!MONTH_PATTERN.test(month)) throw new TrafficReplayError('badMonth', `month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const chunkRows = options.chunkRows ?? 5000;
  const duck = await Duck.create();
  try {
    const source = `read_parquet(${sqlString(flightsParquetPath())})`;
    // Ties on the scheduled time are broken by route so the order (and so every run) is stable.
    await duck.run(
      `CREATE TABLE replay AS
       SELECT row_number() OVER (ORDER BY date, origin, destination, distance, delay)::BIGINT AS rn,
              strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination, delay::DOUBLE AS delay
       FROM (SELECT * FROM ${source}
             WHERE strftime(date, '%Y-%m') = ${sqlString(month)}
               AND date IS NOT NULL AND delay IS NOT NULL AND distance IS NOT NULL AND origin IS NOT NULL AND destination IS NOT NULL)
       ${options.sample !== undefined ? `USING SAMPLE ${Math.floor(options.sample)} ROWS (reservoir, 42)` : ''}`,
      options.signal,
    );
    const [{ n } = { n: 0 }] = await duck.all<{ n: number }>('SELECT count(*)::BIGINT AS n FROM replay');
    if (n === 0) {
      const months = await duck.all<{ m: string }>(
        `SELECT DISTINCT strftime(date, '%Y-%m') AS m FROM ${source} WHERE date IS NOT NULL ORDER BY 1`,
      );
      throw new TrafficReplayError('badMonth', `the flights data has no month ${month} (available: ${months.map((r) => r.m).join(', ')})`);
    }
    const total = Math.min(n, options.limit ?? n);
    for (let from = 0; from < total; from += chunkRows) {
      const to = Math.min(total, from + chunkRows);
      const rows = await duck.all<{ date: string; distance: number; origin: string; destination: string; delay: number }>(
        `SELECT date, distance, origin, destination, delay FROM replay WHERE rn > ${from} AND rn <= ${to} ORDER BY rn`,
        options.signal,
      );
      for (const r of rows) {
        yield {
          instance: { date: r.date, distance: r.distance, origin: r.origin, destination: r.destination },
          key: `${r.origin}-${r.destination}-${r.date}`,
          label: r.delay > 15 ? 1 : 0,
        };
      }
    }
  } finally {
    duck.close();
  }
}
