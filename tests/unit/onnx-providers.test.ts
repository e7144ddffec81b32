// FLYWHEEL_ONNX_PROVIDERS: the parse, the config it shapes, and which providers load — with fake
// probes for the fallback rules, and with ONNX Runtime itself on whatever machine runs the tests
// (CPU-only here; on a machine with the CUDA libraries installed `cuda` simply loads).
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config/index.ts';
import {
  chooseOnnxProviders,
  exportMlpToOnnx,
  OnnxProviderError,
  OnnxSession,
  parseOnnxProviders,
  selectOnnxProviders,
  type OnnxProvider,
  type ProviderProbe,
} from '../../lib/onnx/index.ts';

const LINUX = new Set(['cpu', 'cuda', 'tensorrt', 'webgpu']);

/** A probe that fails whenever the list contains one of `broken`, the way ORT stops at the first provider that cannot load. */
function probeFailing(...broken: OnnxProvider[]): ProviderProbe & { calls: OnnxProvider[][] } {
  const calls: OnnxProvider[][] = [];
  const probe = (providers: readonly OnnxProvider[]) => {
    calls.push([...providers]);
    const bad = providers.find((p) => broken.includes(p));
    return bad
      ? Promise.reject(new Error(`OrtSessionOptionsAppendExecutionProvider_${bad}: Failed to load shared library\nmore`))
      : Promise.resolve();
  };
  return Object.assign(probe, { calls });
}

function logger() {
  return { info: vi.fn(), warn: vi.fn() };
}

describe('parseOnnxProviders', () => {
  it('reads a comma list in order, trimmed and case-insensitive', () => {
    expect(parseOnnxProviders('cuda,cpu')).toEqual(['cuda', 'cpu']);
    expect(parseOnnxProviders(' TensorRT , cuda,CPU ')).toEqual(['tensorrt', 'cuda', 'cpu']);
    expect(parseOnnxProviders('cpu')).toEqual(['cpu']);
  });

  it('refuses unknown names, empty entries and duplicates', () => {
    expect(() => parseOnnxProviders('gpu,cpu')).toThrow(/unknown provider "gpu"/);
    expect(() => parseOnnxProviders('cuda,,cpu')).toThrow(/empty/);
    expect(() => parseOnnxProviders('cpu,cpu')).toThrow(/cpu is listed twice/);
  });
});

describe('FLYWHEEL_ONNX_PROVIDERS in configuration', () => {
  it('defaults to cpu for serving and for workers', () => {
    expect(loadConfig('serve', {}).serve.onnxProviders).toEqual(['cpu']);
    expect(loadConfig('worker', {}).worker.onnxProviders).toEqual(['cpu']);
    expect(loadConfig('worker', { FLYWHEEL_ONNX_PROVIDERS: '' }).worker.onnxProviders).toEqual(['cpu']);
  });

  it('passes the list through to both', () => {
    expect(loadConfig('serve', { FLYWHEEL_ONNX_PROVIDERS: 'cuda,cpu' }).serve.onnxProviders).toEqual(['cuda', 'cpu']);
    expect(loadConfig('worker', { FLYWHEEL_ONNX_PROVIDERS: 'tensorrt,cuda,cpu' }).worker.onnxProviders).toEqual([
      'tensorrt',
      'cuda',
      'cpu',
    ]);
  });

  it('names the variable, the problem and the accepted names when invalid', () => {
    let error: unknown;
    try {
      loadConfig('serve', { FLYWHEEL_ONNX_PROVIDERS: 'cuda,gpu' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problem = (error as ConfigError).problems.find((p) => p.variable === 'FLYWHEEL_ONNX_PROVIDERS');
    expect(problem?.message).toMatch(/unknown provider "gpu".*cpu, cuda, tensorrt, dml, coreml/);
  });
});

describe('chooseOnnxProviders (fallback rules)', () => {
  it('keeps every requested provider that loads', async () => {
    const probe = probeFailing();
    await expect(chooseOnnxProviders(['cuda', 'cpu'], { probe, available: LINUX })).resolves.toEqual({
      requested: ['cuda', 'cpu'],
      loaded: ['cuda', 'cpu'],
      skipped: [],
    });
    expect(probe.calls).toEqual([['cuda', 'cpu']]);
  });

  it('drops providers that fail, in order, when cpu is listed', async () => {
    const probe = probeFailing('tensorrt', 'cuda');
    const choice = await chooseOnnxProviders(['tensorrt', 'cuda', 'cpu'], { probe, available: LINUX });
    expect(choice.loaded).toEqual(['cpu']);
    expect(choice.skipped.map((s) => s.provider)).toEqual(['tensorrt', 'cuda']);
    expect(choice.skipped[0]!.reason).toBe('OrtSessionOptionsAppendExecutionProvider_tensorrt: Failed to load shared library');
    expect(probe.calls).toEqual([['tensorrt', 'cuda', 'cpu'], ['cuda', 'cpu'], ['cpu']]);
  });

  it('keeps a provider that loads after one that does not', async () => {
    const choice = await chooseOnnxProviders(['tensorrt', 'cuda', 'cpu'], { probe: probeFailing('tensorrt'), available: LINUX });
    expect(choice.loaded).toEqual(['cuda', 'cpu']);
  });

  it('skips a provider this build lacks without trying it (dml, coreml on Linux)', async () => {
    const probe = probeFailing();
    const choice = await chooseOnnxProviders(['dml', 'coreml', 'cpu'], { probe, available: LINUX });
    expect(choice.loaded).toEqual(['cpu']);
    expect(choice.skipped.map((s) => s.reason)).toEqual([
      expect.stringMatching(/no dml provider/),
      expect.stringMatching(/no coreml provider/),
    ]);
    expect(probe.calls).toEqual([['cpu']]);
  });

  it('is an error naming the variable when cpu is not listed', async () => {
    const failing = chooseOnnxProviders(['cuda'], { probe: probeFailing('cuda'), available: LINUX });
    await expect(failing).rejects.toBeInstanceOf(OnnxProviderError);
    await expect(failing).rejects.toThrow(/^FLYWHEEL_ONNX_PROVIDERS=cuda: ONNX Runtime cannot use cuda here .*list cpu after it/);
    await expect(chooseOnnxProviders(['dml'], { probe: probeFailing(), available: LINUX })).rejects.toThrow(/cannot use dml here/);
  });
});

describe('selectOnnxProviders (the start-up log)', () => {
  it('logs what was requested and loaded', async () => {
    const log = logger();
    await expect(selectOnnxProviders(['cpu'], log, { probe: probeFailing(), available: LINUX })).resolves.toEqual(['cpu']);
    expect(log.info).toHaveBeenCalledWith({ requested: 'cpu', loaded: 'cpu' }, 'ONNX Runtime providers: cpu');
    expect(log.warn).not.toHaveBeenCalled();
  });

  it('warns when a requested provider was skipped', async () => {
    const log = logger();
    await expect(selectOnnxProviders(['cuda', 'cpu'], log, { probe: probeFailing('cuda'), available: LINUX })).resolves.toEqual(['cpu']);
    expect(log.warn).toHaveBeenCalledWith(
      expect.objectContaining({ requested: 'cuda,cpu', loaded: 'cpu', skipped: [expect.objectContaining({ provider: 'cuda' })] }),
      'ONNX Runtime providers: cpu (skipped cuda)',
    );
  });

  it('turns a provider that cannot load without a fallback into a ConfigError (exit code 2)', async () => {
    const failing = selectOnnxProviders(['cuda'], logger(), { probe: probeFailing('cuda'), available: LINUX });
    await expect(failing).rejects.toBeInstanceOf(ConfigError);
    await expect(failing).rejects.toMatchObject({
      problems: [{ variable: 'FLYWHEEL_ONNX_PROVIDERS', message: expect.stringMatching(/cannot use cuda here.*\(got "cuda"\)$/) }],
    });
  });
});

describe('with ONNX Runtime on this machine', () => {
  it('loads cpu', async () => {
    await expect(chooseOnnxProviders(['cpu'])).resolves.toMatchObject({ loaded: ['cpu'], skipped: [] });
  });

  it('cuda,cpu loads cuda where its libraries are installed, and falls back to cpu where not', async () => {
    const choice = await chooseOnnxProviders(['cuda', 'cpu']);
    if (choice.skipped.length) {
      expect(choice.loaded).toEqual(['cpu']);
      expect(choice.skipped).toEqual([{ provider: 'cuda', reason: expect.stringMatching(/Cuda|cuda/) }]);
    } else {
      expect(choice.loaded).toEqual(['cuda', 'cpu']);
    }
  });

  it('cuda alone is an error naming the variable where its libraries are missing', async () => {
    const cudaLoads = (await chooseOnnxProviders(['cuda', 'cpu'])).skipped.length === 0;
    const alone = chooseOnnxProviders(['cuda']);
    if (cudaLoads) await expect(alone).resolves.toMatchObject({ loaded: ['cuda'] });
    else await expect(alone).rejects.toThrow(/^FLYWHEEL_ONNX_PROVIDERS=cuda: ONNX Runtime cannot use cuda here/);
  });

  it('sessions score with the selected providers', async () => {
    const model = exportMlpToOnnx(
      { inputDim: 2, layers: [{ inputs: 2, units: 1, activation: 'sigmoid', weights: Float32Array.of(1, -1), bias: Float32Array.of(0) }] },
      { featureSpecHash: 'test', datasetVersion: 'test' },
    );
    const providers = (await chooseOnnxProviders(['cuda', 'cpu'])).loaded;
    const session = await OnnxSession.create(model, { executionProviders: providers });
    try {
      const y = await session.run(Float32Array.of(1, 1, 2, 0), 2);
      expect(y[0]).toBeCloseTo(0.5, 6);
      expect(y[1]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    } finally {
      await session.dispose();
    }
  });
});
