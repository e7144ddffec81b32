// Every spec loader reads files through lib/spec-file.ts: JSON or YAML, and an error that names
// the file but never quotes its content.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadValidationSpec } from '../../lib/data/validation/spec.ts';
import { loadSourceSpec } from '../../lib/data/source-spec.ts';
import { loadFeatureSpec } from '../../lib/features/tabular/spec.ts';
import { loadModelSpec } from '../../lib/model-spec/model-spec.ts';
import { readSpecFile, SpecFileError } from '../../lib/spec-file.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-spec-file-'));
  await writeFile(join(dir, 'a.json'), '{"x": [1, 2]}');
  await writeFile(join(dir, 'a.yaml'), 'x:\n  - 1\n  - 2\n');
  await writeFile(join(dir, 'a.spec'), 'x: [1, 2]\n');
  // A broken YAML line holding something secret: errors must not echo it.
  await writeFile(join(dir, 'bad.yaml'), 'password: "hunter2-secret\nx: [\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readSpecFile', () => {
  it('reads JSON by its extension and YAML otherwise', async () => {
    for (const name of ['a.json', 'a.yaml', 'a.spec']) expect(await readSpecFile(join(dir, name)), name).toEqual({ x: [1, 2] });
  });

  it('fails with one line that never quotes the file', async () => {
    const err = await readSpecFile(join(dir, 'bad.yaml')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpecFileError);
    expect((err as Error).message).not.toContain('\n');
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('every loader names the file and its kind, and none quotes the content', async () => {
    const bad = join(dir, 'bad.yaml');
    const loaders: Array<[string, (p: string) => Promise<unknown>]> = [
      ['model spec', loadModelSpec],
      ['validation spec', loadValidationSpec],
      ['source spec', loadSourceSpec],
      ['feature spec', loadFeatureSpec],
    ];
    for (const [kind, load] of loaders) {
      const message = ((await load(bad).catch((e: unknown) => e)) as Error).message;
      expect(message, kind).toContain(`cannot read ${kind} ${bad}: `);
      expect(message, kind).not.toContain('hunter2');
      expect(message, kind).not.toContain('\n');
    }
  });
});
