// B1/B3/B4 request bodies: one real flight each, and a routing key drawn from many (all variants
// send one, so all parse the same body); rendered around the distance so a never-seen input is
// cheap. The three streams share one random sequence and one cursor over the flights.
import type { FlightInstance } from '../../examples/flights/legacy-encoder.ts';
import { HIT_SHARE, hotRows, keyCount } from './method.ts';

export type Body = { body: string; tag: string };

export interface Bodies {
  /** The flights in turn (B1, B4; tag: the routing key). */
  pooled(): Body;
  /** A distance no request had before: the cache key changes, the model's cost does not. */
  neverSeen(): Body;
  /** ~80% Zipf over the `hot` first flights, the rest never seen (B3). */
  mostlyHot(): Body;
  /** How many flights the hot set holds. */
  hot: number;
  /** pooled()'s flight and routing key as an Open Inference Protocol (V2) JSON infer request. */
  pooledV2(): Body;
}

export function requestBodies(instances: readonly FlightInstance[], random: () => number): Bodies {
  const parts = instances.map((inst: FlightInstance) => [
    `{"instances":[{"date":${JSON.stringify(inst.date)},"distance":`,
    `,"origin":${JSON.stringify(inst.origin)},"destination":${JSON.stringify(inst.destination)}}],"routingKey":"`,
  ]);
  const render = (row: number, distance: number, key: string) => `${parts[row]![0]}${distance}${parts[row]![1]}${key}"}`;
  const nextKey = () => `user-${Math.floor(random() * keyCount)}`;
  let cursor = 0;
  let unseen = 0;
  const pooled = () => {
    const row = cursor++ % instances.length;
    const key = nextKey();
    return { body: render(row, instances[row]!.distance, key), tag: key };
  };
  const neverSeen = () => {
    const row = cursor++ % instances.length;
    const key = nextKey();
    return { body: render(row, instances[row]!.distance + ++unseen * 1e-3, key), tag: key };
  };
  const hot = Math.min(hotRows, instances.length);
  const zipf: number[] = [];
  for (let k = 1, sum = 0; k <= hot; k++) zipf.push((sum += 1 / k));
  const zipfRow = () => {
    const u = random() * zipf[zipf.length - 1]!;
    let lo = 0;
    let hi = zipf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (zipf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  const mostlyHot = () => {
    if (random() >= HIT_SHARE) return neverSeen();
    const row = zipfRow();
    const key = nextKey();
    return { body: render(row, instances[row]!.distance, key), tag: key };
  };
  // The same flight as pooled(), one tensor per column with the datatypes the V2 metadata lists.
  const v2Parts = instances.map((inst: FlightInstance) => [
    `{"inputs":[{"name":"date","datatype":"BYTES","shape":[1],"data":[${JSON.stringify(inst.date)}]},{"name":"distance","datatype":"FP64","shape":[1],"data":[`,
    `]},{"name":"origin","datatype":"BYTES","shape":[1],"data":[${JSON.stringify(inst.origin)}]},{"name":"destination","datatype":"BYTES","shape":[1],"data":[${JSON.stringify(inst.destination)}]}],"parameters":{"routing_key":"`,
  ]);
  const pooledV2 = () => {
    const row = cursor++ % instances.length;
    const key = nextKey();
    return { body: `${v2Parts[row]![0]}${instances[row]!.distance}${v2Parts[row]![1]}${key}"}}`, tag: key };
  };
  return { pooled, neverSeen, mostlyHot, hot, pooledV2 };
}
