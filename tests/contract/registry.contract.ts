// The model-registry contract: the built-in (SQL) registry and the MLflow-backed one must behave
// the same for everything Flywheel relies on.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AliasNotFoundError,
  ModelNotFoundError,
  RegistryConflictError,
  VersionNotFoundError,
  type CreateVersionInput,
  type ModelRegistry,
} from '../../lib/registry/index.ts';

const ops = { actor: 'alice', reason: 'passed gates' };

function versionInput(model: string, runId: string, extra: Partial<CreateVersionInput> = {}): CreateVersionInput {
  return {
    model,
    runId,
    artifactUri: `s3://flywheel/training/${runId}/model.onnx`,
    lineage: {
      datasetVersion: 'v-0123456789abcdef',
      featureSpecHash: 'ab'.repeat(32),
      codeRevision: 'deadbeef',
      params: { hidden: [64, 32], lr: 0.001 },
    },
    metrics: { rocAuc: 0.71, logLoss: 0.45 },
    gateReportUri: `s3://flywheel/training/${runId}/gates.json`,
    tags: { team: 'delays' },
    ...extra,
  };
}

export function describeRegistryContract(name: string, open: () => Promise<ModelRegistry>): void {
  describe(`ModelRegistry contract: ${name}`, () => {
    const model = () => `flights-${randomUUID().slice(0, 8)}`;

    it('creates models idempotently and names a missing one', async () => {
      const registry = await open();
      const m = model();
      const first = await registry.createModel(m, 'delay classifier');
      const again = await registry.createModel(m, 'delay classifier');
      expect(again.name).toBe(first.name);
      expect(first).toMatchObject({ name: m, latestVersion: null, aliases: {} });
      expect((await registry.listModels()).map((x) => x.name)).toContain(m);
      await expect(registry.getModel(`${m}-nope`)).rejects.toThrow(ModelNotFoundError);
      await expect(registry.getModel(`${m}-nope`)).rejects.toThrow(`${m}-nope`);
    });

    it('registers versions with lineage; the same training run yields one version', async () => {
      const registry = await open();
      const m = model();
      const v1 = await registry.createVersion(versionInput(m, 'run-1'));
      const v2 = await registry.createVersion(versionInput(m, 'run-2', { metrics: { rocAuc: 0.73 } }));
      const again = await registry.createVersion(versionInput(m, 'run-1'));
      expect([v1.version, v2.version, again.version]).toEqual([1, 2, 1]);
      expect(v1).toMatchObject({
        model: m,
        runId: 'run-1',
        artifactUri: 's3://flywheel/training/run-1/model.onnx',
        lineage: { datasetVersion: 'v-0123456789abcdef', codeRevision: 'deadbeef', params: { hidden: [64, 32], lr: 0.001 } },
        metrics: { rocAuc: 0.71, logLoss: 0.45 },
        gateReportUri: 's3://flywheel/training/run-1/gates.json',
        tags: { team: 'delays' },
        aliases: [],
      });
      expect((await registry.getModel(m)).latestVersion).toBe(2);
      expect((await registry.searchVersions(m)).map((v) => v.version)).toEqual([2, 1]);
      await registry.setVersionTag(m, 2, 'stage-note', 'canary');
      expect((await registry.searchVersions(m, { tags: { 'stage-note': 'canary' } })).map((v) => v.version)).toEqual([2]);
      await expect(registry.getVersion(m, 9)).rejects.toThrow(VersionNotFoundError);
      await expect(registry.getVersion(`${m}-nope`, 1)).rejects.toThrow(ModelNotFoundError);
    });

    it('moves aliases with an audit trail and deletes them', async () => {
      const registry = await open();
      const m = model();
      await registry.createVersion(versionInput(m, 'a'));
      await registry.createVersion(versionInput(m, 'b'));
      await registry.setAlias(m, 'challenger', 2, { actor: 'pipeline', reason: 'registered' });
      await registry.setAlias(m, 'champion', 1, ops);
      expect((await registry.getAlias(m, 'champion')).version).toBe(1);
      expect((await registry.getVersion(m, 2)).aliases).toEqual(['challenger']);
      expect((await registry.getModel(m)).aliases).toEqual({ challenger: 2, champion: 1 });
      const removed = await registry.deleteAlias(m, 'challenger', { actor: 'bob', reason: 'rejected' });
      expect(removed).toMatchObject({ fromVersion: 2, toVersion: null, actor: 'bob', reason: 'rejected' });
      await expect(registry.getAlias(m, 'challenger')).rejects.toThrow(AliasNotFoundError);
      await expect(registry.deleteAlias(m, 'challenger', ops)).rejects.toThrow(AliasNotFoundError);
      await expect(registry.setAlias(m, 'champion', 7, ops)).rejects.toThrow(VersionNotFoundError);
      const history = await registry.aliasHistory(m);
      expect(history.map((h) => [h.alias, h.fromVersion, h.toVersion, h.actor])).toEqual([
        ['challenger', null, 2, 'pipeline'],
        ['champion', null, 1, 'alice'],
        ['challenger', 2, null, 'bob'],
      ]);
    });

    it('rolls the champion back to the previous champion, recording every move', async () => {
      const registry = await open();
      const m = model();
      await registry.createVersion(versionInput(m, 'r1'));
      await registry.createVersion(versionInput(m, 'r2'));
      await expect(registry.rollback(m, ops)).rejects.toThrow(RegistryConflictError);
      await registry.setAlias(m, 'champion', 1, { actor: 'alice', reason: 'first model' });
      await registry.setAlias(m, 'champion', 2, { actor: 'alice', reason: 'better AUC' });
      const back = await registry.rollback(m, { actor: 'oncall', reason: 'p99 regression' });
      expect(back).toMatchObject({ fromVersion: 2, toVersion: 1, actor: 'oncall', reason: 'p99 regression' });
      expect((await registry.getAlias(m, 'champion')).version).toBe(1);
      const history = await registry.aliasHistory(m, 'champion');
      expect(history.map((h) => [h.fromVersion, h.toVersion, h.reason])).toEqual([
        [null, 1, 'first model'],
        [1, 2, 'better AUC'],
        [2, 1, 'p99 regression'],
      ]);
      expect(history.every((h) => !Number.isNaN(Date.parse(h.at)))).toBe(true);
    });

    it('records approvals', async () => {
      const registry = await open();
      const m = model();
      await registry.createVersion(versionInput(m, 'x'));
      await registry.recordApproval({ model: m, version: 1, decision: 'rejected', actor: 'carol', reason: 'slice ORD regressed' });
      await registry.recordApproval({ model: m, version: 1, decision: 'approved', actor: 'dave', reason: 'fixed upstream' });
      const all = await registry.approvals(m, 1);
      expect(all.map((a) => [a.decision, a.actor, a.reason])).toEqual([
        ['rejected', 'carol', 'slice ORD regressed'],
        ['approved', 'dave', 'fixed upstream'],
      ]);
    });
  });
}
