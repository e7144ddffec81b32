// The desired state of an environment: flywheel.yaml + models/ with patches deep-merged, plain
// spec files, and errors that name the file and the field.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DesiredStateError, loadDesiredState } from '../../lib/gitops/desired.ts';
import { mergePatch } from '../../lib/gitops/merge.ts';

const EXAMPLE = resolve('examples/flights');
const BASE = `name: m1
task: binary
data: { dataset: flights, label: { expression: delay > 15 }, validation: ${EXAMPLE}/validation.yaml }
features: ${EXAMPLE}/features.yaml
trainer: { kind: tfjs-mlp, hyperparameters: { hidden: [8, 4], epochs: 1 } }
gates: { minAuc: 0.6, maxAucDropVsChampion: 0.01 }
retrain: { schedule: '0 6 * * 1', cooldown: 1h }
`;

async function repo(manifest: string, models: Record<string, string> = { m1: BASE }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gitops-desired-'));
  await mkdir(join(dir, 'models'));
  await writeFile(join(dir, 'flywheel.yaml'), manifest);
  for (const [name, text] of Object.entries(models)) await writeFile(join(dir, 'models', `${name}.yaml`), text);
  return dir;
}

describe('mergePatch', () => {
  it('merges objects key by key, replaces arrays and scalars, removes a key on null, changes neither input', () => {
    const base = { a: { b: 1, c: [1, 2], d: 'x' }, e: 1 };
    const patch = { a: { c: [3], d: null, f: true }, g: { h: 1 } };
    expect(mergePatch(base, patch)).toEqual({ a: { b: 1, c: [3], f: true }, e: 1, g: { h: 1 } });
    expect(base).toEqual({ a: { b: 1, c: [1, 2], d: 'x' }, e: 1 });
  });
});

describe('loadDesiredState', () => {
  it('reads an environment of flywheel.yaml with its patch merged onto the base spec', async () => {
    const dir = await repo(`apiVersion: flywheel/v1
environments:
  dev:
    prune: true
    models:
      m1:
        state: paused
        patch: { gates: { minAuc: 0.5 }, retrain: { schedule: null } }
  prod:
    models: { m1: }
`);
    const dev = await loadDesiredState(dir, { env: 'dev' });
    expect(dev).toMatchObject({ env: 'dev', prune: true, complete: true });
    expect(dev.models).toHaveLength(1);
    expect(dev.models[0]).toMatchObject({ name: 'm1', state: 'paused', specSource: join(dir, 'models', 'm1.yaml') });
    expect(dev.models[0]!.spec.gates).toEqual({ minAuc: 0.5, maxAucDropVsChampion: 0.01 });
    expect(dev.models[0]!.spec.retrain.schedule).toBeUndefined();
    expect(dev.models[0]!.spec.retrain.cooldown).toBe('1h');
    const prod = await loadDesiredState(join(dir, 'flywheel.yaml'), { env: 'prod' });
    expect(prod.models[0]).toMatchObject({ state: 'active' });
    expect(prod.models[0]!.spec.gates).toEqual({ minAuc: 0.6, maxAucDropVsChampion: 0.01 });
  });

  it('needs --env when the manifest has several environments, and names the known ones for an unknown one', async () => {
    const dir = await repo(`apiVersion: flywheel/v1\nenvironments: { dev: { models: { m1: } }, prod: {} }\n`);
    await expect(loadDesiredState(dir)).rejects.toThrow(/several environments \(dev, prod\): pass --env/);
    await expect(loadDesiredState(dir, { env: 'qa' })).rejects.toThrow(/no environment "qa" \(it has dev, prod\)/);
  });

  it('reports every broken model with its file and field, a missing spec and a name mismatch', async () => {
    const dir = await repo(
      `apiVersion: flywheel/v1
environments:
  dev:
    models:
      m1: { patch: { gates: { minAuc: 7 } } }
      m2:
      m3:
`,
      { m1: BASE, m3: BASE },
    );
    const err = await loadDesiredState(dir, { env: 'dev' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DesiredStateError);
    const message = (err as Error).message;
    expect(message).toContain(`${join(dir, 'models', 'm1.yaml')} is invalid`);
    expect(message).toContain('gates.minAuc');
    expect(message).toContain('(with the patch of');
    expect(message).toContain('environments.dev.models.m2: no spec');
    expect(message).toContain(`${join(dir, 'models', 'm3.yaml')}: name: "m1", but flywheel.yaml lists it as "m3"`);
  });

  it('reads plain spec files (no flywheel.yaml) as active models of the default environment, saying nothing of others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-plain-'));
    await writeFile(join(dir, 'a.yaml'), BASE);
    await writeFile(join(dir, 'b.yaml'), BASE.replace('name: m1', 'name: m2'));
    await writeFile(join(dir, 'notes.txt'), 'not a spec');
    const d = await loadDesiredState(dir, { defaultEnv: 'flywheel-dev' });
    expect(d).toMatchObject({ env: 'flywheel-dev', prune: false, complete: false });
    expect(d.models.map((m) => [m.name, m.state])).toEqual([
      ['m1', 'active'],
      ['m2', 'active'],
    ]);
    const one = await loadDesiredState(join(dir, 'b.yaml'), { defaultEnv: 'x' });
    expect(one.models.map((m) => m.name)).toEqual(['m2']);
    await writeFile(join(dir, 'c.yaml'), BASE);
    await expect(loadDesiredState(dir)).rejects.toThrow(/c\.yaml: name: "m1" is also the name in .*a\.yaml/);
    await expect(loadDesiredState(join(dir, 'nope'))).rejects.toThrow(/nope: no such file or folder/);
  });

  it('loads the example repository for each environment with real differences', async () => {
    const [dev, staging, prod] = await Promise.all(['dev', 'staging', 'prod'].map((env) => loadDesiredState('examples/gitops', { env })));
    const spec = (d: typeof dev) => d!.models[0]!.spec;
    expect(dev!.prune).toBe(true);
    expect([
      (spec(dev).gates as { minAuc?: number }).minAuc,
      (spec(staging).gates as { minAuc?: number }).minAuc,
      (spec(prod).gates as { minAuc?: number }).minAuc,
    ]).toEqual([0.55, 0.6, 0.62]);
    expect([spec(dev).approval.mode, spec(prod).approval.mode]).toEqual(['automatic', 'manual']);
    expect([spec(dev).retrain.schedule, spec(staging).retrain.schedule, spec(prod).retrain.schedule]).toEqual([
      undefined,
      '0 6 * * *',
      '0 6 * * 1',
    ]);
  });
});
