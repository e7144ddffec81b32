// Traffic replay against a real inference server (PostgreSQL for keys and the prediction log, the
// S3 store for the model): a slice of March's flights arrives as logged predictions routed by
// flight, and each flight's true label (delay > 15) arrives as feedback only after the delay.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/auth/api-keys.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { withDuck } from '../../lib/data/duck.ts';
import { flightsParquetPath } from '../../lib/data/flights.ts';
import { migrate, PostgresDatabase } from '../../lib/db/index.ts';
import { monthFlights, type FlightFields } from '../../examples/flights/traffic-source.ts';
import { createLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { S3ArtifactStore } from '../../lib/storage/index.ts';
import { replayTraffic } from '../../lib/traffic/replay.ts';
import { fitFixtureSpec, registerFixtureModel } from '../fixtures/fixture-models.ts';
import { createInferenceServer, type InferenceServer } from '../../serving/server.ts';
import { getInfra, useInfraAwsCredentials } from './infra.ts';

const infra = getInfra();
useInfraAwsCredentials(infra);
const tag = randomUUID().slice(0, 8);
const NAME = `flights-replay-${tag}`;
const FLIGHTS = 200;
const FEEDBACK_DELAY_MS = 2500;
let db: PostgresDatabase;
let server: InferenceServer | undefined;
let url: string;
let key: string;

beforeAll(async () => {
  db = await PostgresDatabase.create(infra.databaseUrl);
  await migrate(db);
  const store = S3ArtifactStore.create(`s3://${infra.s3Bucket}/replay-${tag}`, { endpoint: infra.s3Endpoint, forcePathStyle: true });
  const registry = new BuiltinRegistry(db);
  await registerFixtureModel({ registry, store, name: NAME, spec: await fitFixtureSpec(20_000), alias: 'champion' });
  key = (await createApiKey(db, { name: `replay-${tag}`, scopes: ['predict', 'feedback'] })).key;
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_PORT: '0',
    FLYWHEEL_SERVE_MODELS: NAME,
    FLYWHEEL_SERVE_REFRESH_MS: '600000',
  }).serve;
  server = await createInferenceServer({ settings, db, registry, store, logger: createLogger({ level: 'silent' }) });
  url = await server.start();
}, 120_000);

afterAll(async () => {
  await server?.stop().catch(() => undefined);
  await db?.close();
});

/** The true labels of the first flights of March, by flight (origin-destination-time). */
async function trueLabels(): Promise<Map<string, number[]>> {
  const rows = await withDuck((duck) =>
    duck.all<{ k: string; label: number }>(
      `SELECT origin || '-' || destination || '-' || strftime(date, '%Y-%m-%dT%H:%M:%S') AS k, CAST(delay > 15 AS INTEGER) AS label
       FROM read_parquet('${flightsParquetPath()}') WHERE strftime(date, '%Y-%m') = '2001-03'
       ORDER BY date, origin, destination, distance, delay LIMIT ${FLIGHTS}`,
    ),
  );
  const byKey = new Map<string, number[]>();
  for (const r of rows) byKey.set(r.k, [...(byKey.get(r.k) ?? []), r.label]);
  return byKey;
}

describe('flywheel traffic replay', () => {
  it("logs a month's flights as predictions routed by flight, then their true labels as feedback after the delay", async () => {
    const startedAt = Date.now();
    const replay = replayTraffic({
      baseUrl: url,
      model: NAME,
      apiKey: key,
      source: '2001-03',
      rows: monthFlights('2001-03'),
      limit: FLIGHTS,
      rate: 100,
      feedbackDelayMs: FEEDBACK_DELAY_MS,
    });

    // Midway: predictions are logged, but no label is due yet.
    await new Promise((r) => setTimeout(r, 1500));
    const midway = await db.query<{ logged: number; labelled: number }>(
      `SELECT count(*)::int AS logged, count(f.request_id)::int AS labelled
       FROM prediction_log l LEFT JOIN prediction_feedback f USING (request_id, instance) WHERE l.model = $1`,
      [NAME],
    );
    expect(midway.rows[0]!.logged).toBeGreaterThan(20);
    expect(midway.rows[0]!.labelled).toBe(0);

    const stats = await replay;
    expect(stats).toMatchObject({ instances: FLIGHTS, sent: FLIGHTS, ok: FLIGHTS, failed: 0, failures: {} });
    expect(stats.feedback).toMatchObject({ posted: FLIGHTS, failed: 0, pending: 0, abandoned: 0 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual((FLIGHTS / 100) * 1000 + FEEDBACK_DELAY_MS - 600);

    await new Promise((r) => setTimeout(r, 600)); // the prediction log flushes every 200 ms
    const { rows } = await db.query<{ routing_key: string; features: FlightFields; label: number | null; lag_ms: number | null }>(
      `SELECT l.routing_key, l.features, f.label, EXTRACT(EPOCH FROM f.received_at - l.created_at)::float8 * 1000 AS lag_ms
       FROM prediction_log l LEFT JOIN prediction_feedback f USING (request_id, instance)
       WHERE l.model = $1 AND NOT l.shadow ORDER BY l.created_at`,
      [NAME],
    );
    expect(rows).toHaveLength(FLIGHTS);
    const truth = await trueLabels();
    for (const r of rows) {
      expect(r.routing_key).toBe(`${r.features.origin}-${r.features.destination}-${r.features.date}`);
      expect(truth.get(r.routing_key), r.routing_key).toContain(r.label);
      expect(r.lag_ms).toBeGreaterThanOrEqual(FEEDBACK_DELAY_MS - 50);
    }
    const delayed = rows.filter((r) => r.label === 1).length;
    expect(delayed).toBe([...truth.values()].flat().filter((l) => l === 1).length);
    // Scheduled order: the log's first and last flights are the slice's earliest and latest.
    expect(rows[0]!.features.date <= rows.at(-1)!.features.date).toBe(true);
  }, 40_000);
});
