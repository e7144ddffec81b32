// ONNX Runtime execution providers a process asks for (FLYWHEEL_ONNX_PROVIDERS): the names and
// their parse. No onnxruntime import here, so configuration can validate them without loading it;
// which of them actually load is decided once at start-up (provider-select.ts).

/** The providers onnxruntime-node knows by these names. The prebuilt Linux x64 package carries
 * `cpu` (and the CUDA / TensorRT bridges, whose libraries a GPU image installs); `dml` is Windows
 * only and `coreml` macOS only. */
export const ONNX_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml'] as const;
export type OnnxProvider = (typeof ONNX_PROVIDERS)[number];

export const ONNX_PROVIDERS_VAR = 'FLYWHEEL_ONNX_PROVIDERS';
export const DEFAULT_ONNX_PROVIDERS: readonly OnnxProvider[] = ['cpu'];

function isProvider(name: string): name is OnnxProvider {
  return (ONNX_PROVIDERS as readonly string[]).includes(name);
}

/** Parses a comma list in priority order, e.g. `cuda,cpu`. Throws naming what is wrong. */
export function parseOnnxProviders(text: string): OnnxProvider[] {
  const names = text.split(',').map((name) => name.trim().toLowerCase());
  if (names.some((name) => name === '')) throw new Error('an empty name in the list');
  const unknown = names.filter((name) => !isProvider(name));
  if (unknown.length) throw new Error(`unknown provider ${unknown.map((n) => JSON.stringify(n)).join(', ')}`);
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new Error(`${name} is listed twice`);
    seen.add(name);
  }
  return names as OnnxProvider[];
}
