// GitOps end to end on the shared Temporal server, in two private namespaces (two environments):
// a real git repository made here, `flywheel apply` / `flywheel diff` as a user runs them, and the
// reconciler workflow applying a gate change from git to the running lifecycle with an Update
// (same run, no terminate), recording the commit in FlywheelGitCommit, and skipping a bad commit.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitopsActivities } from '../../activities/gitops/index.ts';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { gitopsReconcilerWorkflow, gitopsStatusQuery, gitopsSyncSignal, type GitopsStatus } from '../../lib/contracts/gitops.ts';
import { specQuery } from '../../lib/contracts/model-lifecycle.ts';
import { ModelNotFoundError } from '../../lib/registry/errors.ts';
import type { ModelRegistry } from '../../lib/registry/index.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { ensureSearchAttributes } from '../../lib/temporal/register-search-attributes.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { createWorker } from '../../lib/temporal/worker.ts';
import { ensureNamespace } from '../../lib/temporal/ensure-namespace.ts';
import { getInfra } from './infra.ts';
import { pollUntil } from './lifecycle-helpers.ts';
import { ROOT } from './processes.ts';

const run = promisify(execFile);
const infra = getInfra();
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {}, child: () => quiet };
const tag = Math.random().toString(36).slice(2, 8);
const model = `gitops-${tag}`;
const NS = { a: `flywheel-gitops-${tag}-a`, b: `flywheel-gitops-${tag}-b` } as const;

/** No model has a champion: the lifecycle only reads whether one exists. */
const registry = {
  async getModel(name: string) {
    throw new ModelNotFoundError(name);
  },
} as unknown as ModelRegistry;

let repo: string;
let dataDir: string;
let connection: Connection;
let native: NativeConnection;
const clients: Record<keyof typeof NS, Client> = {} as never;
const workers: Worker[] = [];
let running: Promise<unknown>;

async function git(...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, {
    cwd: repo,
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' },
  });
  return stdout.trim();
}

function manifest(minAucA: number): string {
  return `apiVersion: flywheel/v1
environments:
  a:
    settings: { TEMPORAL_NAMESPACE: ${NS.a}, FLYWHEEL_DATA_DIR: ${dataDir}/cli-a }
    models:
      ${model}: { patch: { gates: { minAuc: ${minAucA} } } }
  b:
    settings: { TEMPORAL_NAMESPACE: ${NS.b}, FLYWHEEL_DATA_DIR: ${dataDir}/cli-b }
    models:
      ${model}: { patch: { gates: { minAuc: 0.55 } } }
`;
}

const SPEC = (name: string) => `name: ${name}
task: binary
data: { dataset: flights, label: { expression: delay > 15 }, time: date, partition: { by: month }, validation: ../shared/validation.yaml }
features: ../shared/features.yaml
trainer: { kind: tfjs-mlp, hyperparameters: { hidden: [8], epochs: 1 }, resources: { gpu: false } }
gates: { minAuc: 0.5 }
retrain: { onNewData: true, cooldown: 0s }
`;

async function commit(message: string): Promise<string> {
  await git('add', '-A');
  await git('commit', '-q', '-m', message);
  return git('rev-parse', 'HEAD');
}

/** `flywheel <args>` as a user runs it; the exit code and the output. */
async function flywheel(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'bin/flywheel.js'), ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', TEMPORAL_ADDRESS: infra.temporalAddress, TMPDIR: tmpdir() },
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const status = (env: keyof typeof NS) => clients[env].workflow.getHandle(WORKFLOW_IDS.gitopsReconciler(env)).query(gitopsStatusQuery);

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'gitops-repo-'));
  dataDir = await mkdtemp(join(tmpdir(), 'gitops-data-'));
  await git('init', '-q', '-b', 'main');
  await mkdir(join(repo, 'models'));
  await mkdir(join(repo, 'shared'));
  await cp(join(ROOT, 'examples/flights/features.yaml'), join(repo, 'shared/features.yaml'));
  await cp(join(ROOT, 'examples/flights/validation.yaml'), join(repo, 'shared/validation.yaml'));
  await writeFile(join(repo, 'models', `${model}.yaml`), SPEC(model));
  await writeFile(join(repo, 'flywheel.yaml'), manifest(0.5));
  await commit('first');

  connection = await Connection.connect({ address: infra.temporalAddress });
  native = await NativeConnection.connect({ address: infra.temporalAddress });
  const bundle = await bundleWorkflowCode({ workflowsPath: new URL('./gitops.workflows.ts', import.meta.url).pathname, logger: quiet });
  for (const env of ['a', 'b'] as const) {
    const namespace = NS[env];
    await ensureNamespace(connection, namespace);
    await ensureSearchAttributes(connection, namespace);
    const client = new Client({ connection, namespace });
    clients[env] = client;
    const gitops = createGitopsActivities({ dataDir: join(dataDir, `worker-${env}`), client: async () => client, logger: quiet as never });
    const lifecycle = createLifecycleActivities({ registry, logger: quiet as never, client: async () => client });
    const common = { connection: native, namespace, shutdownGraceTime: 500 };
    workers.push(await createWorker({ ...common, taskQueue: TASK_QUEUES.cpu, workflowBundle: bundle, activities: gitops }));
    workers.push(await createWorker({ ...common, taskQueue: TASK_QUEUES.control, activities: lifecycle }));
  }
  running = Promise.all(workers.map((w) => w.run()));
}, 60_000);

afterAll(async () => {
  for (const env of ['a', 'b'] as const)
    for (const id of [WORKFLOW_IDS.gitopsReconciler(env), WORKFLOW_IDS.modelLifecycle(model)])
      await clients[env]?.workflow
        .getHandle(id)
        .terminate('test done')
        .catch(() => undefined);
  for (const w of workers) w.shutdown();
  await running?.catch(() => undefined);
  await native?.close();
  await connection?.close();
});

describe('GitOps', () => {
  it('apply, then a gate change in git reaches the running lifecycle by the reconciler; diff tells drift; a second environment keeps its own', async () => {
    // `flywheel apply` creates the lifecycle in environment a (its namespace from flywheel.yaml).
    const applied = await flywheel('apply', '-f', repo, '--env', 'a');
    expect(applied.out).toContain(`create ${model}`);
    expect(applied.code).toBe(0);
    expect((await flywheel('diff', '-f', repo, '--env', 'a')).code).toBe(0);
    const lifecycle = clients.a.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model));
    const runId = (await lifecycle.describe()).runId;

    const started = await flywheel('gitops', 'start', '--env', 'a', '-f', repo, '--repo', `file://${repo}`, '--interval', '1h');
    expect(started.code, started.out).toBe(0);
    const first = await git('rev-parse', 'HEAD');
    await pollUntil(
      'the first commit applied',
      () => status('a'),
      (s) => s.appliedCommit === first,
    );

    // A gate change in git: drift until the reconciler applies it.
    await writeFile(join(repo, 'flywheel.yaml'), manifest(0.6));
    const second = await commit('raise the gate');
    const drift = await flywheel('diff', '-f', repo, '--env', 'a');
    expect(drift.code).toBe(1);
    expect(drift.out).toContain(`update ${model}: gates.minAuc: 0.5 → 0.6`);

    await clients.a.workflow.getHandle(WORKFLOW_IDS.gitopsReconciler('a')).signal(gitopsSyncSignal);
    const after: GitopsStatus = await pollUntil(
      'the second commit applied',
      () => status('a'),
      (s) => s.appliedCommit === second,
    );
    expect(after.lastError).toBeNull();
    expect(after.history.at(-1)).toMatchObject({ commit: second, kind: 'update', model, outcome: 'done' });
    expect(((await lifecycle.query(specQuery)).gates as { minAuc?: number }).minAuc).toBe(0.6);
    const described = await lifecycle.describe();
    expect(described.runId).toBe(runId); // updated in place: never terminated
    expect(described.status.name).toBe('RUNNING');
    const reconciler = await pollUntil(
      'FlywheelGitCommit',
      () => clients.a.workflow.getHandle(WORKFLOW_IDS.gitopsReconciler('a')).describe(),
      (d) => d.typedSearchAttributes.get(SEARCH_ATTRIBUTES.gitCommit) === second,
    );
    expect(reconciler.typedSearchAttributes.get(SEARCH_ATTRIBUTES.gitCommit)).toBe(second);
    expect((await flywheel('diff', '-f', repo, '--env', 'a')).code).toBe(0);

    // A bad commit: reported, skipped; the last good one stays applied.
    await writeFile(join(repo, 'models', `${model}.yaml`), SPEC(model).replace('task: binary', 'task: binry'));
    const bad = await commit('a typo');
    await clients.a.workflow.getHandle(WORKFLOW_IDS.gitopsReconciler('a')).signal(gitopsSyncSignal, { reason: 'test' });
    const skipped = await pollUntil(
      'the bad commit reported',
      () => status('a'),
      (s) => s.fetchedCommit === bad && s.lastError !== null,
    );
    expect(skipped.appliedCommit).toBe(second);
    expect(skipped.lastError).toContain(`models/${model}.yaml is invalid`);
    expect(skipped.lastError).toContain('task');

    // Environment b: its own reconciler in its own namespace creates its own lifecycle, its own gate.
    await clients.b.workflow.start(gitopsReconcilerWorkflow, {
      workflowId: WORKFLOW_IDS.gitopsReconciler('b'),
      taskQueue: TASK_QUEUES.cpu,
      args: [{ env: 'b', repo: `file://${repo}`, ref: second, path: '', intervalMs: 3_600_000 }],
    });
    const b = await pollUntil(
      'environment b applied',
      () => status('b'),
      (s) => s.appliedCommit === second,
    );
    expect(b.history.map((h) => [h.kind, h.outcome])).toEqual([['create', 'done']]);
    const specB = await clients.b.workflow.getHandle(WORKFLOW_IDS.modelLifecycle(model)).query(specQuery);
    expect((specB.gates as { minAuc?: number }).minAuc).toBe(0.55);
    expect(((await lifecycle.query(specQuery)).gates as { minAuc?: number }).minAuc).toBe(0.6);
    expect((await status('a')).env).toBe('a');
  }, 60_000);
});
