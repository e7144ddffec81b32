// The Dockerfile's targets, read as text (CI has no Docker engine): `docker build .` stays the CPU
// image that docker-compose builds, and the `gpu` target installs the CUDA builds.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

interface Stage {
  from: string;
  name?: string;
  body: string;
}

/** FROM lines split the file into stages; continuation lines are joined. */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const out: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), body: '' });
    else if (out.length && !line.startsWith('#')) out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

describe('Dockerfile', () => {
  const all = stages(dockerfile);
  const byName = new Map(all.map((s) => [s.name, s]));

  it('builds the CPU image by default (the last stage is the cpu target)', () => {
    expect(all.at(-1)!.from).toBe('cpu');
    const cpu = byName.get('cpu')!;
    expect(cpu.from).toMatch(/^node:20-/);
    expect(cpu.body).toContain('npm ci --omit=dev');
    expect(cpu.body).not.toMatch(/ONNXRUNTIME_NODE_INSTALL|tfjs-node-gpu/);
  });

  it('has a gpu target on an NVIDIA CUDA runtime with the CUDA builds of ONNX Runtime and TF.js', () => {
    const gpu = byName.get('gpu')!;
    expect(gpu.from).toMatch(/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    expect(gpu.body).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev/);
    expect(gpu.body).toMatch(/@tensorflow\/tfjs-node-gpu@\d/);
    expect(gpu.body).toContain('libonnxruntime_providers_cuda.so');
    expect(gpu.body).toMatch(/FLYWHEEL_ONNX_PROVIDERS=cuda,cpu/);
    expect(gpu.body).toMatch(/USER node/);
    expect(gpu.body).toContain('CMD ["node", "--import", "tsx", "workers/gpu/main.ts"]');
  });

  it('keeps the tfjs-node-gpu version in step with the TF.js packages', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const tfjs = pkg.dependencies['@tensorflow/tfjs']!.replace(/^\^/, '');
    expect(dockerfile).toContain(`@tensorflow/tfjs-node-gpu@${tfjs}`);
  });
});
