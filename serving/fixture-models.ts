// Registers models with seeded random weights for the server's tests and benchmarks: a real
// feature spec fitted on flights rows, a real ONNX export, a real registry version with its
// feature-spec tag. Inference cost depends only on the architecture, so these stand in for
// trained models where what is measured is the serving path, not model quality.
import { withDuck } from '../lib/data/duck.ts';
import { flightsParquetPath } from '../lib/data/flights.ts';
import { featureDimension, featureSpecHash, type FlightInstance, type FlightsFeatureSpec } from '../lib/features/flights.ts';
import { fitFlightsFeatureSpec } from '../lib/features/fit.ts';
import { exportMlpToOnnx } from '../lib/onnx/index.ts';
import { randomMlp, seededRandom } from '../lib/onnx/synthetic.ts';
import { FEATURE_SPEC_TAG, type ModelRegistry, type ModelVersion } from '../lib/registry/index.ts';
import { putJson, type ArtifactStore } from '../lib/storage/index.ts';

/** Fits the flights feature spec on the first `rows` rows of the bundled dataset. */
export async function fitFixtureSpec(rows = 50_000): Promise<FlightsFeatureSpec> {
  return withDuck(async (duck) => {
    await duck.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${flightsParquetPath()}') LIMIT ${rows}`);
    return fitFlightsFeatureSpec(duck, 't', 'fixture', { minCount: 50 });
  });
}

/** `count` real flights from the bundled dataset as request instances (from `offset`). */
export async function sampleInstances(count: number, offset = 0): Promise<FlightInstance[]> {
  return withDuck((duck) =>
    duck.all<FlightInstance & Record<string, unknown>>(
      `SELECT strftime(date, '%Y-%m-%dT%H:%M:%S') AS date, distance::DOUBLE AS distance, origin, destination
       FROM read_parquet('${flightsParquetPath()}') LIMIT ${count} OFFSET ${offset}`,
    ),
  );
}

export interface FixtureModelOptions {
  registry: ModelRegistry;
  store: ArtifactStore;
  name: string;
  spec: FlightsFeatureSpec;
  /** Hidden layer widths. @default [64, 32] (the trainer's default) */
  hidden?: number[];
  /** @default 1 */
  seed?: number;
  /** Move this alias to the new version. */
  alias?: string;
  /** Write a different feature-spec hash into the ONNX metadata (a model serving must refuse). */
  mismatchedSpecHash?: boolean;
  /** Added to the output unit's bias: a large value makes a deliberately bad model that calls
   * nearly every flight late (rollback tests). @default 0 */
  outputBias?: number;
  /** Tells apart registrations of the same weights (a "retrained" version that predicts alike). */
  variant?: string;
}

export async function registerFixtureModel(options: FixtureModelOptions): Promise<ModelVersion> {
  const { registry, store, name, spec } = options;
  const hidden = options.hidden ?? [64, 32];
  const seed = options.seed ?? 1;
  const runId = `fixture-${name}-${seed}-${hidden.join('x')}${options.mismatchedSpecHash ? '-bad' : ''}${options.outputBias ? `-bias${options.outputBias}` : ''}${options.variant ? `-${options.variant}` : ''}`;
  const hash = featureSpecHash(spec);
  const specInfo = await putJson(store, `fixtures/${name}/${runId}/feature-spec.json`, spec);
  const weights = randomMlp([featureDimension(spec), ...hidden, 1], seededRandom(seed));
  if (options.outputBias) weights.layers.at(-1)!.bias[0]! += options.outputBias;
  const onnx = exportMlpToOnnx(weights, { featureSpecHash: options.mismatchedSpecHash ? `${hash.slice(0, -4)}beef` : hash, datasetVersion: 'fixture', modelName: name });
  const model = await store.put(`fixtures/${name}/${runId}/model.onnx`, onnx, { contentType: 'application/octet-stream' });
  const version = await registry.createVersion({
    model: name,
    runId,
    artifactUri: model.uri,
    lineage: { datasetVersion: 'fixture', featureSpecHash: hash, params: { hidden, seed } },
    tags: { [FEATURE_SPEC_TAG]: specInfo.uri },
    description: 'seeded random weights (serving fixture)',
  });
  if (options.alias) await registry.setAlias(name, options.alias, version.version, { actor: 'fixture', reason: 'serving fixture' });
  return version;
}
