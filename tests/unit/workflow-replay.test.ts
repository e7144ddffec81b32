// Safe evolution (docs/safe-evolution.md): histories recorded from real runs and by
// tests/tools/record-histories.ts (tests/fixtures/histories) are replayed against today's workflow
// code. A change that would break running workflows (a new activity before an old one, a reordered
// step) fails here instead of in production. Every workflow type has a history, and every
// `patched()` in workflows/ has been replayed down both of its branches.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../workers/shared/create-worker.ts';

const DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const WORKFLOWS_DIR = fileURLToPath(new URL('../../workflows/', import.meta.url));
const PROBE = fileURLToPath(new URL('./helpers/patch-probe-workflow.ts', import.meta.url));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

interface Fixture {
  name: string;
  workflowType: string;
  history: { events: Array<Record<string, unknown>> };
}

const fixtures: Fixture[] = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((file) => {
    const history = JSON.parse(readFileSync(DIR + file, 'utf8')) as Fixture['history'];
    const started = history.events[0]?.workflowExecutionStartedEventAttributes as { workflowType: { name: string } } | undefined;
    return { name: file.replace(/\.json$/, ''), workflowType: started?.workflowType.name ?? '?', history };
  });

/** The workflow types the bundle entry exports (`export { name } from …`). */
function exportedWorkflowTypes(): string[] {
  const index = readFileSync(`${WORKFLOWS_DIR}index.ts`, 'utf8');
  return [...index.matchAll(/^export\s*\{\s*(\w+)\s*\}\s*from/gm)].map((m) => m[1]!);
}

/** Every `patched('<id>')` in workflows/*.ts; a non-literal id is refused, since it could not be checked. */
function patchIdsInSource(): string[] {
  const ids = new Set<string>();
  for (const file of readdirSync(WORKFLOWS_DIR).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(WORKFLOWS_DIR + file, 'utf8');
    const calls = [...source.matchAll(/\bpatched\(([^)]*)\)/g)];
    for (const [call, arg] of calls) {
      const literal = /^\s*'([^']+)'\s*$/.exec(arg!);
      if (!literal) throw new Error(`${file}: ${call} — patch ids must be string literals so the replay test can find them`);
      ids.add(literal[1]!);
    }
  }
  return [...ids].sort();
}

describe('recorded workflow histories', () => {
  /** fixture → patch id → the branch(es) `patched()` chose while replaying it. */
  const decisions = new Map<string, Map<string, Set<boolean>>>();

  const failures: string[] = [];
  let replayed = 0;

  // Replays every fixture once; the tests below read what it saw.
  beforeAll(async () => {
    // The real workflow code, with `patched()` reporting its decisions (helpers/patch-probe-workflow.ts).
    const bundle = await bundleWorkflowCode({
      workflowsPath: WORKFLOWS_PATH,
      logger: quiet,
      webpackConfigHook: (config) => ({
        ...config,
        resolve: { ...config.resolve, alias: { ...config.resolve?.alias, '@temporalio/workflow$': PROBE } },
      }),
    });
    const results = Worker.runReplayHistories(
      {
        workflowBundle: bundle,
        sinks: {
          patchProbe: {
            decided: {
              fn: (info, patchId: string, active: boolean) => {
                const byPatch = decisions.get(info.workflowId) ?? new Map<string, Set<boolean>>();
                decisions.set(info.workflowId, byPatch.set(patchId, (byPatch.get(patchId) ?? new Set()).add(active)));
              },
              callDuringReplay: true,
            },
          },
        },
      },
      fixtures.map((f) => ({ workflowId: f.name, history: f.history })),
    );
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
  }, 180_000);

  it('replay without non-determinism on the current workflow code', () => {
    expect(failures).toEqual([]);
    expect(replayed).toBe(fixtures.length);
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
  });

  it('include at least one history of every workflow type the worker runs', () => {
    const recorded = new Set(fixtures.map((f) => f.workflowType));
    const types = exportedWorkflowTypes();
    expect(types.length).toBeGreaterThanOrEqual(10);
    expect(types.filter((t) => !recorded.has(t))).toEqual([]);
  });

  it('replay both branches of every patched() in workflows/', () => {
    const ids = patchIdsInSource();
    expect(ids.length).toBeGreaterThan(0);
    // What replay observed, not what the files claim: a history without the marker only counts as
    // the old branch if replay reached the patched() call and it answered false.
    const branches = (id: string, active: boolean) =>
      [...decisions].filter(([, byPatch]) => byPatch.get(id)?.has(active)).map(([name]) => name);
    const missing = ids.flatMap((id) => [
      ...(branches(id, true).length ? [] : [`${id}: no history takes the new branch (patched → true)`]),
      ...(branches(id, false).length ? [] : [`${id}: no history takes the old branch (patched → false)`]),
    ]);
    expect(missing.join('\n')).toBe('');
  });

  it('record a patch marker exactly where replay took the new branch', () => {
    for (const { name, history } of fixtures) {
      const markers = history.events
        .map((e) => e.markerRecordedEventAttributes as { details?: Record<string, { payloads: Array<{ data: string }> }> } | undefined)
        .flatMap((m) => m?.details?.['patch-data']?.payloads ?? m?.details?.patch_data?.payloads ?? [])
        .map((p) => (JSON.parse(Buffer.from(p.data, 'base64').toString('utf8')) as { id: string }).id);
      const active = [...(decisions.get(name) ?? new Map<string, Set<boolean>>())].filter(([, b]) => b.has(true)).map(([id]) => id);
      expect({ name, patches: [...new Set(markers)].sort() }).toEqual({ name, patches: active.sort() });
    }
  });
});
