// The layer rule in eslint.config.js, run through ESLint's own API on the repo's real config: a
// lib/ file that reaches up into an app layer fails lint; a lib → lib import does not.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root, overrideConfigFile: fileURLToPath(new URL('../../eslint.config.js', import.meta.url)) });

async function layerErrors(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: fileURLToPath(new URL(`../../${filePath}`, import.meta.url)) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer lint rule', () => {
  it('rejects a lib → serving import', async () => {
    const errors = await layerErrors("import '../../serving/server.ts';\nexport const layered = 1;\n", 'lib/temporal/constants.ts');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('lib/ is a library');
  }, 120_000);

  it('rejects lib imports of every app layer, however deep the file', async () => {
    const code = ['activities/data/index.ts', 'workflows/index.ts', 'workers/shared/run.ts', 'cli/main.ts']
      .map((path) => `import '../../../${path}';`)
      .join('\n');
    expect(await layerErrors(`${code}\nexport const layered = 1;\n`, 'lib/training/tfjs/trainer.ts')).toHaveLength(4);
  }, 120_000);

  it('accepts a lib → lib import', async () => {
    const code =
      "import type { Logger } from '../log.ts';\nimport { TASK_QUEUES } from './constants.ts';\nexport const layered = (l: Logger) => l && TASK_QUEUES;\n";
    expect(await layerErrors(code, 'lib/temporal/runtime.ts')).toEqual([]);
  }, 120_000);

  it('rejects an activities → workers import', async () => {
    const errors = await layerErrors("import '../../workers/shared/run.ts';\nexport const layered = 1;\n", 'activities/system/index.ts');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('activities/ imports no workers/');
  }, 120_000);

  it('rejects a Worker.create outside lib/temporal/worker.ts, so no worker misses the failure mapping', async () => {
    const code =
      "import { Worker } from '@temporalio/worker';\nexport const w = () => Worker.create({ taskQueue: 'q', activities: {} });\n";
    const [result] = await eslint.lintText(code, { filePath: fileURLToPath(new URL('../../serving/server.ts', import.meta.url)) });
    const messages = (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
    expect(messages).toEqual(['Create workers with createWorker (lib/temporal/worker.ts), so activities get the failure mapping.']);
  }, 120_000);
});
