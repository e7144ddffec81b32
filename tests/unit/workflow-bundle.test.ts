// Bundles the workflow code the way the worker does, so a workflow that imports a Node
// built-in (non-deterministic I/O) fails CI instead of a worker at start-up.
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';

const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

describe('workflow bundle', () => {
  it('bundles workflows/index.ts', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: silent });
    expect(code).toContain('routingCheck');
  }, 60_000);

  it('rejects a workflow module that imports a Node built-in', async () => {
    const bad = fileURLToPath(new URL('../fixtures/workflows-with-fs.ts', import.meta.url));
    const errors: string[] = [];
    const recording = { ...silent, error: (message: string, meta?: unknown) => void errors.push(message + JSON.stringify(meta ?? '')) };
    await expect(bundleWorkflowCode({ workflowsPath: bad, logger: recording })).rejects.toThrow('Webpack finished with errors');
    // The SDK names the disallowed module, so a developer sees which import to move out.
    expect(errors.join('\n')).toMatch(/node:fs|'fs'|"fs"/);
  }, 60_000);
});
