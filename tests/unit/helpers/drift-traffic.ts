// Real flights traffic for the drift monitor's tests: a training profile of January rows (the
// reference), more January rows as no-drift control traffic, and a drifted copy of any traffic
// (distances tripled, departures seven hours later).
import { withDuck } from '../../../lib/data/duck.ts';
import { flightsParquetPath, FLIGHTS_PROFILE_FEATURES } from '../../../lib/data/flights.ts';
import { profileTable } from '../../../lib/data/profile.ts';
import type { DatasetProfile } from '../../../lib/data/profile-types.ts';
import type { FlightInstance } from '../../../lib/features/flights.ts';

/** January in a fixed shuffled order: the first `referenceRows` are the training profile, the
 * next `controlRows` the control requests. */
export async function januaryTraffic(
  referenceRows: number,
  controlRows: number,
  source = 'fixture',
): Promise<{ reference: DatasetProfile; control: FlightInstance[] }> {
  return withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE jan AS SELECT * FROM read_parquet('${flightsParquetPath()}') WHERE month(date) = 1
       ORDER BY hash(date, origin, destination, distance, delay) LIMIT ${referenceRows + controlRows}`,
    );
    await duck.run(`CREATE TABLE ref AS SELECT * FROM jan LIMIT ${referenceRows}`);
    const reference = await profileTable(duck, { from: 'ref', source, features: [...FLIGHTS_PROFILE_FEATURES] });
    const control = await duck.all<FlightInstance & Record<string, unknown>>(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination FROM jan LIMIT ${controlRows} OFFSET ${referenceRows}`,
    );
    return { reference, control };
  });
}

/** The same flights, three times as far and seven hours later. */
export function drifted(instances: readonly FlightInstance[]): FlightInstance[] {
  return instances.map((f) => ({
    ...f,
    distance: f.distance * 3,
    date: new Date(Date.parse(`${f.date}Z`) + 7 * 3_600_000).toISOString().slice(0, 19),
  }));
}
