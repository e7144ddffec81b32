// A rollout's alias moves are compare-and-set (PGlite registry): a rollback restores the champion
// only where the rollout left the alias, and a promotion with `expectedChampion` refuses to
// overwrite a version someone promoted by hand meanwhile.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { restoreChampionAlias } from '../../activities/rollout/aliases.ts';
import type { RolloutEvidence } from '../../lib/contracts/rollout.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import type { Logger } from '../../lib/log.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';

const silent = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} } as unknown as Logger;
const by = { actor: 'test', reason: 'setup' };
let dir: string;
let db: PGliteDatabase;
let registry: BuiltinRegistry;

/** A model with versions 1..3 and v1 as champion. */
async function model(name: string): Promise<void> {
  for (let i = 1; i <= 3; i++)
    await registry.createVersion({
      model: name,
      runId: `${name}-${i}`,
      artifactUri: 'file:///nowhere/model.onnx',
      lineage: { datasetVersion: 'd', featureSpecHash: 'h', params: {} },
    });
  await registry.setAlias(name, 'champion', 1, by);
}

const evidence = (name: string): RolloutEvidence => ({
  model: name,
  challenger: 2,
  champion: 1,
  outcome: 'rolled-back',
  reason: 'step 1 failed',
  steps: [],
});
const champion = async (name: string) => (await registry.getAlias(name, 'champion')).version;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flywheel-rollout-aliases-'));
  db = await PGliteDatabase.create(join(dir, 'db'));
  await migrate(db);
  registry = new BuiltinRegistry(db);
}, 60_000);

afterAll(async () => {
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('rollback of the champion alias', () => {
  it('keeps a champion that never moved, restores one the rollout itself promoted', async () => {
    await model('kept');
    expect(await restoreChampionAlias(registry, evidence('kept'))).toMatchObject({ action: 'kept', champion: 1 });
    await registry.setAlias('kept', 'champion', 2, by); // the rollout promoted, then failed
    expect(await restoreChampionAlias(registry, evidence('kept'))).toMatchObject({ action: 'restored', champion: 1 });
    expect(await champion('kept')).toBe(1);
  });

  it('leaves a version promoted by hand during the rollout, and says so', async () => {
    await model('manual');
    await registry.setAlias('manual', 'champion', 3, { actor: 'ops', reason: 'hotfix' });
    const outcome = await restoreChampionAlias(registry, evidence('manual'));
    expect(outcome).toMatchObject({ action: 'left', champion: 3 });
    expect(outcome.note).toMatch(/v3, moved by someone else/);
    expect(await champion('manual')).toBe(3);
  });
});

describe('promoteToChampion with expectedChampion', () => {
  const promote = (name: string, expectedChampion?: number) =>
    createLifecycleActivities({ registry, logger: silent, client: () => Promise.reject(new Error('no client')) }).promoteToChampion({
      model: name,
      version: 2,
      actor: 'rollout',
      reason: 'passed',
      ...(expectedChampion !== undefined ? { expectedChampion } : {}),
    });

  it('promotes when the champion is the expected one', async () => {
    await model('cas-ok');
    expect(await promote('cas-ok', 1)).toEqual({ fromVersion: 1, changed: true });
    expect(await champion('cas-ok')).toBe(2);
  });

  it('refuses, non-retryably and by type, when someone else promoted meanwhile; the alias stays', async () => {
    await model('cas-moved');
    await registry.setAlias('cas-moved', 'champion', 3, { actor: 'ops', reason: 'hotfix' });
    const err = await promote('cas-moved', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'ChampionSuperseded', nonRetryable: true });
    expect((err as Error).message).toMatch(/v3 holds the champion alias, not v1/);
    expect(await champion('cas-moved')).toBe(3);
    // Without expectedChampion (a cycle's direct promotion) the move is unconditional, as before.
    await promote('cas-moved');
    expect(await champion('cas-moved')).toBe(2);
  });
});
