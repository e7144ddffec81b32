// Safe evolution: histories recorded from real runs (tests/fixtures/histories, written with
// `temporal workflow show --output json`) are replayed against today's workflow code. A change
// that would break running workflows (a new activity before an old one, a reordered step) makes
// this fail in CI instead of in production; see README "Evolving workflows safely" for patching.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';

const DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

describe('recorded workflow histories', () => {
  it('replay without non-determinism on the current workflow code', async () => {
    const files = readdirSync(DIR)
      .filter((f) => f.endsWith('.json'))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(8);
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    });
    const histories = files.map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: JSON.parse(readFileSync(DIR + file, 'utf8')) as unknown,
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle }, histories)) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
