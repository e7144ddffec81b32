// A console over embedded PGlite, the built-in registry, a local store and a stubbed Temporal
// client (its visibility list answers from an array), for black-box `app.inject` tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { openDatabase, type Database } from '../../lib/db/index.ts';
import { silentLogger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { SEARCH_ATTRIBUTES } from '../../lib/temporal/search-attributes.ts';
import { createConsoleServer, type ConsoleServer, type ConsoleServerSettings } from '../../console/server.ts';

export interface StubWorkflow {
  workflowId: string;
  type: string;
  status?: string;
  stage?: string;
  model?: string;
  version?: number;
  startTime?: Date;
  closeTime?: Date;
}

/** A Temporal client whose `workflow.list` filters `workflows` by WorkflowType (and Running), the
 * way visibility answers; `unreachable` makes every list fail as a down server would. */
export function stubTemporal(workflows: StubWorkflow[], options: { unreachable?: boolean; queries?: string[] } = {}): Client {
  return {
    workflow: {
      list({ query }: { query: string }) {
        options.queries?.push(query);
        const type = /WorkflowType = '([^']+)'/.exec(query)?.[1];
        const running = query.includes(`ExecutionStatus = 'Running'`);
        const model = /FlywheelModel = '([^']+)'/.exec(query)?.[1];
        return (async function* () {
          if (options.unreachable) throw new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233');
          for (const w of workflows) {
            if (type && w.type !== type) continue;
            if (running && (w.status ?? 'RUNNING') !== 'RUNNING') continue;
            if (model && w.model !== model) continue;
            const attrs = new Map<string, unknown>([
              [SEARCH_ATTRIBUTES.stage.name, w.stage],
              [SEARCH_ATTRIBUTES.model.name, w.model],
              [SEARCH_ATTRIBUTES.version.name, w.version],
            ]);
            yield {
              workflowId: w.workflowId,
              runId: `run-${w.workflowId}`,
              type: w.type,
              status: { name: w.status ?? 'RUNNING' },
              startTime: w.startTime ?? new Date('2026-01-01T00:00:00Z'),
              closeTime: w.closeTime,
              typedSearchAttributes: { get: (key: { name: string }) => attrs.get(key.name) ?? undefined },
            };
          }
        })();
      },
    },
  } as unknown as Client;
}

export interface TestConsole {
  console: ConsoleServer;
  db: Database;
  registry: BuiltinRegistry;
  store: LocalArtifactStore;
  dir: string;
  close(): Promise<void>;
}

export async function startTestConsole(
  options: { workflows?: StubWorkflow[]; temporal?: Client; settings?: ConsoleServerSettings } = {},
): Promise<TestConsole> {
  const dir = await mkdtemp(join(tmpdir(), 'flywheel-console-'));
  const { db } = await openDatabase({ kind: 'pglite', dataDir: 'memory://' });
  const registry = new BuiltinRegistry(db);
  const store = await LocalArtifactStore.create(`file://${join(dir, 'store')}`);
  const console = createConsoleServer({
    deps: {
      db,
      registry,
      store,
      temporal: options.temporal ?? stubTemporal(options.workflows ?? []),
      namespace: 'default',
      webUiUrl: 'http://127.0.0.1:8233',
      logger: silentLogger(),
    },
    settings: { keyCacheMs: 0, ...options.settings },
  });
  return {
    console,
    db,
    registry,
    store,
    dir,
    async close() {
      await console.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A version registered the way a cycle registers one (lineage, metrics, tags). */
export async function registerVersion(
  registry: BuiltinRegistry,
  model: string,
  n: number,
  extra: { metrics?: Record<string, number>; tags?: Record<string, string>; description?: string; gateReportUri?: string } = {},
) {
  return registry.createVersion({
    model,
    artifactUri: `file:///tmp/${model}/v${n}/model.onnx`,
    runId: `training/train/${model}/ds-${n}/1`,
    lineage: { datasetVersion: `ds-${n}`, featureSpecHash: 'f'.repeat(16), params: { epochs: 3, learningRate: 0.01 * n } },
    metrics: extra.metrics ?? { rocAuc: 0.7 + n / 100, prAuc: 0.4 + n / 100, logLoss: 0.5 - n / 100, f1: 0.3 },
    ...(extra.tags ? { tags: extra.tags } : {}),
    ...(extra.description ? { description: extra.description } : {}),
    ...(extra.gateReportUri ? { gateReportUri: extra.gateReportUri } : {}),
  });
}
