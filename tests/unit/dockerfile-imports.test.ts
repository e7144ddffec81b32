// The images install production dependencies only (`npm ci --omit=dev`, Dockerfile), so no module
// the compiled entry points load may import a devDependency. This walks the import graph from the
// image's entry points through every relative import and checks each bare specifier it reaches
// against package.json's `dependencies` (and Node's built-ins). Type-only imports are erased by
// the compiler and do not count; `import { type X }` does (verbatimModuleSyntax keeps it).
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** What the images run: the workers, the `flywheel` CLI (serve), the ONNX Runtime thread, the
 * workflow bundle's entry (bundled at build time, and at start by a traced worker). */
const ENTRIES = ['workers/cpu/main.ts', 'workers/gpu/main.ts', 'cli/main.ts', 'serving/inference/thread.ts', 'workflows/index.ts'];

/** Runtime module specifiers of one TypeScript source: static imports and re-exports (not
 * `import type` / `export type`), side-effect imports, literal dynamic imports, import.meta.resolve. */
function runtimeSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  const patterns = [
    /^\s*import\s+(?!type\s)[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*export\s+(?!type\s)[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^\s*import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\bimport\.meta\.resolve\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) out.push(m[1]!);
  return out;
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

interface Reached {
  files: Set<string>;
  /** package → the first file that imports it. */
  packages: Map<string, string>;
}

function walk(entries: string[]): Reached {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = entries.map((e) => join(ROOT, e));
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const spec of runtimeSpecifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        // Non-code files (package.json, .mjs entries) are read or loaded as they are.
        if (/\.(ts|mts)$/.test(target) && existsSync(target)) queue.push(target);
        else if (!existsSync(target)) throw new Error(`${relative(ROOT, file)} imports missing ${spec}`);
        if (target.endsWith('.mjs')) queue.push(target);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
        const name = packageOf(spec);
        if (!packages.has(name)) packages.set(name, relative(ROOT, file));
      }
    }
  }
  return { files, packages };
}

describe('production imports of the image entry points', () => {
  const reached = walk(ENTRIES);

  it('reaches the application (the walk follows relative imports)', () => {
    const names = [...reached.files].map((f) => relative(ROOT, f));
    expect(names.length).toBeGreaterThan(100);
    expect(names).toEqual(
      expect.arrayContaining(['serving/inference/thread.ts', 'lib/config/schema.ts', 'workflows/rollout.ts', 'serving/server.ts']),
    );
  });

  it('imports only packages listed in dependencies, never a devDependency', () => {
    const notRuntime = [...reached.packages]
      .filter(([name]) => !Object.hasOwn(pkg.dependencies, name))
      .map(
        ([name, file]) => `${name} (${Object.hasOwn(pkg.devDependencies, name) ? 'devDependency' : 'not a dependency'}, first in ${file})`,
      );
    expect(notRuntime).toEqual([]);
  });

  it('catches a devDependency import (the check can fail)', () => {
    expect(runtimeSpecifiers("import { parse } from 'yaml';\nimport type { X } from 'vitest';\nimport { type Y } from 'ajv';")).toEqual([
      'yaml',
      'ajv',
    ]);
    expect(runtimeSpecifiers("const m = await import('fast-check');\nexport { a } from '@kubernetes-models/keda/x';")).toEqual([
      '@kubernetes-models/keda/x',
      'fast-check',
    ]);
    expect(packageOf('@kubernetes-models/keda/x')).toBe('@kubernetes-models/keda');
    expect(Object.hasOwn(pkg.dependencies, 'fast-check')).toBe(false);
  });
});
