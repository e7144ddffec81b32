// Which of the requested execution providers ONNX Runtime can actually load here, decided once
// at start-up by creating a one-unit session. What onnxruntime-node 1.30 does on its own (tried on
// a CPU-only Linux machine): `cuda` or `tensorrt` without their libraries makes session creation
// throw ("Failed to load shared library") even when `cpu` follows in the list — no fallback;
// `dml` throws "backend not found"; `coreml` on Linux is dropped with a console warning. So this
// drops a provider that fails only when `cpu` is also listed (the caller asked for a fallback),
// and otherwise throws an error naming FLYWHEEL_ONNX_PROVIDERS.
import { InferenceSession, listSupportedBackends } from 'onnxruntime-node';
import { ConfigError } from '../config/load.ts';
import { exportMlpToOnnx } from './export.ts';
import { ONNX_PROVIDERS_VAR, type OnnxProvider } from './providers.ts';

export interface ProviderChoice {
  requested: readonly OnnxProvider[];
  /** What sessions are created with: the requested providers that loaded, in order. */
  loaded: OnnxProvider[];
  /** Requested providers that could not load, and why (only when `cpu` was listed). */
  skipped: { provider: OnnxProvider; reason: string }[];
}

export class OnnxProviderError extends Error {
  override readonly name = 'OnnxProviderError';

  constructor(
    readonly requested: readonly OnnxProvider[],
    /** What went wrong, without the variable's name and value. */
    readonly detail: string,
  ) {
    super(`${ONNX_PROVIDERS_VAR}=${requested.join(',')}: ${detail}`);
  }
}

/** Creates and releases a session with these providers; throws what ONNX Runtime throws. */
export type ProviderProbe = (providers: readonly OnnxProvider[]) => Promise<void>;

let probeModel: Uint8Array | undefined;

/** A 1-input, 1-unit model: loads in a millisecond on any provider. */
function tinyModel(): Uint8Array {
  probeModel ??= exportMlpToOnnx(
    {
      inputDim: 1,
      layers: [{ inputs: 1, units: 1, activation: 'sigmoid', weights: Float32Array.of(1), bias: Float32Array.of(0) }],
    },
    { featureSpecHash: 'probe', datasetVersion: 'probe' },
  );
  return probeModel;
}

const ortProbe: ProviderProbe = async (providers) => {
  // A provider library that fails to load also prints ORT's own error line to stderr (its
  // process-wide logger, which session options do not quiet): expected, once, at start-up.
  const session = await InferenceSession.create(tinyModel(), {
    executionProviders: [...providers],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  await session.release();
};

/** Backends this onnxruntime-node build has (`dml` exists only on Windows, `coreml` on macOS). */
function builtIn(): Set<string> {
  return new Set(listSupportedBackends().map((b) => b.name));
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

/**
 * Decides the providers sessions use from `requested` (priority order). A provider that cannot
 * load is skipped when `cpu` is also requested, and is an OnnxProviderError otherwise.
 */
export async function chooseOnnxProviders(
  requested: readonly OnnxProvider[],
  options: { probe?: ProviderProbe; available?: ReadonlySet<string> } = {},
): Promise<ProviderChoice> {
  const probe = options.probe ?? ortProbe;
  const available = options.available ?? builtIn();
  const fallback = requested.includes('cpu');
  const skipped: ProviderChoice['skipped'] = [];
  const fail = (provider: OnnxProvider, reason: string): OnnxProviderError =>
    new OnnxProviderError(
      requested,
      `ONNX Runtime cannot use ${provider} here (${reason}); install its libraries (docs/gpu.md), or list cpu after it to fall back to the CPU`,
    );

  let candidates = requested.filter((provider) => {
    if (available.has(provider)) return true;
    const reason = `this onnxruntime-node build for ${process.platform}-${process.arch} has no ${provider} provider`;
    if (!fallback) throw fail(provider, reason);
    skipped.push({ provider, reason });
    return false;
  });
  for (;;) {
    try {
      await probe(candidates);
      return { requested, loaded: candidates, skipped };
    } catch (err) {
      // ORT appends providers in order and stops at the first that cannot load: that one.
      const culprit = candidates.find((p) => p !== 'cpu');
      if (!culprit) throw new OnnxProviderError(requested, `the CPU provider failed: ${firstLine(err)}`);
      if (!fallback) throw fail(culprit, firstLine(err));
      skipped.push({ provider: culprit, reason: firstLine(err) });
      candidates = candidates.filter((p) => p !== culprit);
    }
  }
}

interface InfoLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** chooseOnnxProviders, then one start-up log line: what was requested and what loaded (a
 * warning when something requested was skipped). A provider that cannot load without a cpu
 * fallback is a ConfigError (the process exits 2 naming FLYWHEEL_ONNX_PROVIDERS). */
export async function selectOnnxProviders(
  requested: readonly OnnxProvider[],
  logger: InfoLogger,
  options: Parameters<typeof chooseOnnxProviders>[1] = {},
): Promise<OnnxProvider[]> {
  let choice: ProviderChoice;
  try {
    choice = await chooseOnnxProviders(requested, options);
  } catch (err) {
    if (err instanceof OnnxProviderError)
      throw new ConfigError([{ variable: ONNX_PROVIDERS_VAR, message: `${err.detail} (got ${JSON.stringify(requested.join(','))})` }]);
    throw err;
  }
  const fields = {
    requested: choice.requested.join(','),
    loaded: choice.loaded.join(','),
    ...(choice.skipped.length ? { skipped: choice.skipped } : {}),
  };
  if (choice.skipped.length)
    logger.warn(fields, `ONNX Runtime providers: ${fields.loaded} (skipped ${choice.skipped.map((s) => s.provider).join(', ')})`);
  else logger.info(fields, `ONNX Runtime providers: ${fields.loaded}`);
  return choice.loaded;
}
