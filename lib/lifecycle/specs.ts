// Model specs a lifecycle was started with, kept in the artifact store (`specs/<model>.json`) so
// data-arrival events (the CLI, the HTTP events endpoint) can signal-with-start every model that
// consumes the dataset, even before its lifecycle workflow exists.
import { parseModelSpec, type ModelSpec } from '../model-spec/model-spec.ts';
import { getJson, putJson, type ArtifactStore } from '../storage/index.ts';

const PREFIX = 'specs/';

export async function saveModelSpec(store: ArtifactStore, spec: ModelSpec): Promise<string> {
  return (await putJson(store, `${PREFIX}${spec.name}.json`, spec)).uri;
}

export async function listModelSpecs(store: ArtifactStore, dataset?: string): Promise<ModelSpec[]> {
  const specs: ModelSpec[] = [];
  for await (const object of store.list(PREFIX)) {
    if (!object.key.endsWith('.json')) continue;
    const spec = parseModelSpec(await getJson(store, object.key), object.uri);
    if (!dataset || spec.data.dataset === dataset) specs.push(spec);
  }
  return specs;
}
