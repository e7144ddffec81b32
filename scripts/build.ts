// `npm run build`: the ahead-of-time build the images run (Dockerfile), so a container starts
// compiled JavaScript without tsx and without bundling workflows at every start.
//   1. tsc -p tsconfig.build.json: lib, workflows, activities, workers, serving, cli → dist/ as JS,
//      relative `.ts` imports rewritten to `.js` (rewriteRelativeImportExtensions).
//   2. The files the code reads beside itself: the SQL migrations, package.json (the version
//      `flywheel --version` and /v2 print), and the two plain-JS entries that register tsx in the
//      source tree, written here to load the compiled modules instead.
//   3. The Temporal workflow bundle, dist/workflow-bundle.js, which a worker loads with
//      FLYWHEEL_WORKFLOW_BUNDLE=dist/workflow-bundle.js (workflowBundle: { codePath }).
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Where the prebuilt bundle lands; docs/images.md and the Dockerfile name it. */
const WORKFLOW_BUNDLE = join(DIST, 'workflow-bundle.js');

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

cpSync(join(ROOT, 'lib/db/migrations'), join(DIST, 'lib/db/migrations'), { recursive: true });
cpSync(join(ROOT, 'package.json'), join(DIST, 'package.json'));
write(
  join(DIST, 'bin/flywheel.js'),
  "#!/usr/bin/env node\n// The `flywheel` command, compiled (scripts/build.ts): no tsx.\nawait import('../cli/main.js');\n",
);
chmodSync(join(DIST, 'bin/flywheel.js'), 0o755);
write(
  join(DIST, 'serving/inference/thread-entry.mjs'),
  "// Entry of an ONNX Runtime worker thread, compiled (scripts/build.ts): no tsx.\nawait import('./thread.js');\n",
);

// The same workflows the worker would bundle at start (workers/shared/create-worker.ts), from the
// compiled modules that ship. No workflow interceptor modules: tracing's are added only when
// FLYWHEEL_TRACING is on, and a traced worker bundles at start instead (docs/images.md).
const { code } = await bundleWorkflowCode({ workflowsPath: join(DIST, 'workflows/index.js') });
write(WORKFLOW_BUNDLE, code);
process.stdout.write(`built dist/ and ${WORKFLOW_BUNDLE} (${(code.length / 1024 / 1024).toFixed(1)} MiB)\n`);
