// The Dockerfile, linted and read as text (CI has no container engine): dockerfile-utils' validator
// with every optional rule raised to an error, plus this project's rules: a supported Node LTS
// base, production dependencies only in the images, compiled entry points, the prebuilt workflow
// bundle, a HEALTHCHECK and a non-root user in each image. docs/images.md describes the targets.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');

/** Node LTS majors in support on 2026-11-30 (nodejs.org/en/about/previous-releases): 22 is in
 * maintenance until 2027-04-30, 24 active until 2026-10-20 then maintenance until 2028-04-30.
 * Node 20 reached its end of life on 2026-04-30. Drop a major here when it reaches its end. */
const SUPPORTED_NODE_LTS = [22, 24];

/** Every rule the validator can make optional, as an error. */
const STRICT: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

function lint(text: string): string[] {
  return validate(text, STRICT).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

interface Stage {
  from: string;
  name?: string;
  /** Instructions after FROM, continuation lines joined, comments dropped. */
  lines: string[];
}

/** FROM lines split the file into stages. */
function stages(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const out: Stage[] = [];
  for (const line of lines) {
    if (line.startsWith('#') || !line.trim()) continue;
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) out.push({ from: from[1]!, ...(from[2] ? { name: from[2] } : {}), lines: [] });
    else out.at(-1)?.lines.push(line.trim());
  }
  return out;
}

const all = stages(dockerfile);
const byName = new Map(all.map((s) => [s.name, s]));
const stage = (name: string): Stage => {
  const s = byName.get(name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const body = (s: Stage): string => s.lines.join('\n');

/** Where a stage's /app/node_modules comes from (COPY --from=X /app/node_modules). */
function nodeModulesSource(s: Stage): string | undefined {
  return s.lines.map((l) => /^COPY\s+--from=(\S+)\s+\/app\/node_modules\s/.exec(l)?.[1]).find(Boolean);
}

/** Every `npm ci` / `npm install` command of a stage, each on its own. */
function npmInstalls(s: Stage): string[] {
  return s.lines
    .filter((l) => l.startsWith('RUN '))
    .flatMap((l) => l.split(/&&|;/))
    .map((c) => c.trim())
    .filter((c) => /\bnpm\s+(ci|install|i)\b/.test(c));
}

function healthcheckCommand(s: Stage): string | undefined {
  return s.lines.find((l) => l.startsWith('HEALTHCHECK '));
}

function lastUser(s: Stage): string | undefined {
  return s.lines
    .filter((l) => l.startsWith('USER '))
    .at(-1)
    ?.slice('USER '.length)
    .trim();
}

function cmd(s: Stage): string[] {
  const line = s.lines.filter((l) => l.startsWith('CMD ')).at(-1);
  if (!line) return [];
  return JSON.parse(line.slice('CMD '.length)) as string[];
}

describe('Dockerfile lint (dockerfile-utils)', () => {
  it('has no diagnostics with every optional rule as an error', () => {
    expect(lint(dockerfile)).toEqual([]);
  });

  it('reports broken instructions (the linter can fail)', () => {
    expect(lint(`${dockerfile}\nHEALTHCHECK --interval=abc CMD true\n`).length).toBeGreaterThan(0);
    expect(lint(`${dockerfile}\nworkdir relative/path\n`)).toEqual([
      expect.stringMatching(/uppercase/),
      expect.stringMatching(/WORKDIR paths should be absolute/),
    ]);
    expect(lint('FROM\n')).not.toEqual([]);
  });
});

describe('Dockerfile rules', () => {
  const images = ['cpu', 'gpu'].map(stage);

  it('builds the CPU image by default (the last stage is the cpu target)', () => {
    expect(all.at(-1)!.from).toBe('cpu');
  });

  it('bases every Node stage on one supported Node LTS (bookworm-slim), never an end-of-life line', () => {
    const nodeFroms = all.map((s) => s.from).filter((from) => from.startsWith('node:'));
    expect(nodeFroms).toHaveLength(1);
    const major = Number(/^node:(\d+)-bookworm-slim$/.exec(nodeFroms[0]!)?.[1]);
    expect(SUPPORTED_NODE_LTS).toContain(major);
    // Everything else builds on that stage (or is the CUDA base of the gpu image).
    for (const s of all.filter((x) => !x.from.startsWith('node:'))) expect(s.from).toMatch(/^(base|cpu|nvidia\/cuda:.+)$/);
    expect(dockerfile).toMatch(/COPY --from=base \/usr\/local\/bin\/node \/usr\/local\/bin\/node/);
  });

  it('puts production dependencies only into the images: no install there, node_modules from an --omit=dev stage', () => {
    for (const image of images) {
      expect(npmInstalls(image), `${image.name} installs packages itself`).toEqual([]);
      const source = nodeModulesSource(image);
      expect(source, `${image.name} copies node_modules from a stage`).toBeDefined();
      const installs = npmInstalls(stage(source!));
      expect(installs.length).toBeGreaterThan(0);
      for (const install of installs) expect(install, `${source}: ${install}`).toMatch(/--omit=dev/);
    }
    // The build stage installs dev dependencies (TypeScript) but only dist/ leaves it.
    expect(npmInstalls(stage('build')).join('\n')).not.toMatch(/--omit=dev/);
    for (const image of images) {
      const fromBuild = image.lines.filter((l) => l.startsWith('COPY --from=build '));
      expect(fromBuild).toEqual(['COPY --from=build /app/dist ./dist']);
    }
  });

  it('prunes the other platforms’ native binaries from the production dependencies', () => {
    expect(body(stage('prod-deps'))).toMatch(/sh scripts\/prune-node-modules\.sh node_modules "\$TARGETARCH"/);
    expect(body(stage('gpu-deps'))).toMatch(/sh scripts\/prune-node-modules\.sh node_modules amd64/);
    expect(existsSync(`${ROOT}scripts/prune-node-modules.sh`)).toBe(true);
  });

  it('compiles TypeScript ahead of time and runs compiled entry points without tsx', () => {
    expect(body(stage('build'))).toContain('RUN npm run build');
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['build']).toBe('node --import tsx scripts/build.ts');
    expect(cmd(stage('cpu'))).toEqual(['node', 'dist/workers/cpu/main.js']);
    expect(cmd(stage('gpu'))).toEqual(['node', 'dist/workers/gpu/main.js']);
    for (const image of images) {
      expect(body(image)).not.toMatch(/\btsx\b/);
      // The compiled entry's source exists (dist/x.js ← x.ts).
      const entry = cmd(image)[1]!;
      expect(existsSync(`${ROOT}${entry.replace(/^dist\//, '').replace(/\.js$/, '.ts')}`)).toBe(true);
    }
    // Every folder the build stage copies exists.
    for (const line of stage('build').lines.filter((l) => /^COPY \S+ \.\/\S+$/.test(l) && !l.includes('--from'))) {
      const src = line.split(' ')[1]!;
      expect(existsSync(`${ROOT}${src}`), line).toBe(true);
    }
  });

  it('loads the workflow bundle the build writes (FLYWHEEL_WORKFLOW_BUNDLE)', () => {
    expect(readFileSync(`${ROOT}scripts/build.ts`, 'utf8')).toContain("join(DIST, 'workflow-bundle.js')");
    for (const image of images) expect(body(image)).toContain('FLYWHEEL_WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js');
  });

  it('has a HEALTHCHECK in each image that runs the health script over the worker port it sets', () => {
    for (const image of images) {
      expect(healthcheckCommand(image), image.name).toMatch(/^HEALTHCHECK (--\S+ )*CMD \["node", "scripts\/healthcheck\.mjs"\]$/);
      expect(body(image)).toContain('COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs');
      expect(body(image)).toContain('FLYWHEEL_WORKER_HTTP_PORT=9464');
    }
  });

  it('runs each image as a non-root user', () => {
    for (const image of images) {
      const user = lastUser(image);
      expect(user, image.name).toBeDefined();
      expect(['root', '0', '0:0']).not.toContain(user);
      // The user comes after the last RUN, so nothing after it runs as root.
      const userAt = image.lines.findLastIndex((l) => l.startsWith('USER '));
      expect(image.lines.slice(userAt).some((l) => l.startsWith('RUN '))).toBe(false);
    }
    expect(body(stage('gpu'))).toMatch(/useradd --uid 1000 --gid node/);
  });

  it('has a gpu target on an NVIDIA CUDA runtime with the CUDA builds of ONNX Runtime and TF.js', () => {
    const gpu = stage('gpu');
    expect(gpu.from).toMatch(/^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/);
    expect(nodeModulesSource(gpu)).toBe('gpu-deps');
    const deps = body(stage('gpu-deps'));
    expect(deps).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci --omit=dev/);
    expect(deps).toMatch(/@tensorflow\/tfjs-node-gpu@\d/);
    expect(deps).toContain('libonnxruntime_providers_cuda.so');
    expect(body(gpu)).toMatch(/FLYWHEEL_ONNX_PROVIDERS=cuda,cpu/);
    expect(body(stage('cpu'))).not.toMatch(/ONNXRUNTIME_NODE_INSTALL|tfjs-node-gpu/);
  });

  it('keeps the tfjs-node-gpu version in step with the TF.js packages', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string> };
    const tfjs = pkg.dependencies['@tensorflow/tfjs']!.replace(/^\^/, '');
    expect(dockerfile).toContain(`@tensorflow/tfjs-node-gpu@${tfjs}`);
  });

  it('keeps local dependencies, build output and secrets out of the build context (.dockerignore)', () => {
    const ignored = readFileSync(`${ROOT}.dockerignore`, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const path of ['node_modules', 'dist', '.git', '.tools', '.flywheel', '.env']) expect(ignored).toContain(path);
  });
});
