// What a cross-environment promotion copies and how it verifies: the plan (pure), the copy between
// two local stores (checksums at both ends, nothing written when a source is bad, re-runs succeed),
// the target environment's approval read from flywheel.yaml, and the command's refusal of two
// environments that share a registry.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runPromotion } from '../../cli/commands/promote.ts';
import { parseGitopsManifest } from '../../lib/gitops/manifest.ts';
import {
  copyArtifacts,
  planPromotion,
  promotedRunId,
  promotionApproval,
  PromotionError,
  UNSPECIFIED_APPROVAL,
} from '../../lib/promotion/index.ts';
import type { ModelVersion } from '../../lib/registry/index.ts';
import { LocalArtifactStore } from '../../lib/storage/index.ts';

const SRC = 's3://bucket/staging';
const source = {
  baseUri: SRC,
  keyFor: (uri: string) => {
    if (!uri.startsWith(`${SRC}/`)) throw new Error(`${uri} is outside ${SRC}`);
    return uri.slice(SRC.length + 1);
  },
};
const target = { uriFor: (key: string) => `s3://bucket/prod/${key}` };

function version(overrides: Partial<ModelVersion> = {}): ModelVersion {
  return {
    model: 'm',
    version: 3,
    runId: 'run-1',
    artifactUri: `${SRC}/models/m/run-1/model.onnx`,
    gateReportUri: `${SRC}/models/m/run-1/gate.json`,
    lineage: { datasetVersion: 'v-1', featureSpecHash: 'h', params: {} },
    metrics: {},
    tags: {
      'flywheel.feature_spec': `${SRC}/features/m.json`,
      'flywheel.variant.fp32.uri': `${SRC}/models/m/run-1/model.onnx`,
      'flywheel.variant.int8.uri': `${SRC}/models/m/run-1/model.int8.onnx`,
      'flywheel.variant.int8.gate': 'passed: auc within 0.002',
      elsewhere: 's3://other-bucket/x.json',
    },
    description: '',
    createdAt: '2026-01-01T00:00:00Z',
    aliases: [],
    ...overrides,
  };
}

describe('planPromotion', () => {
  it('copies each artifact the version points at once, to the same key, and rewrites the URIs', () => {
    const plan = planPromotion(version(), source, target);
    expect(plan.copies.map((c) => [c.key, c.referencedBy])).toEqual([
      ['features/m.json', ['tag:flywheel.feature_spec']],
      ['models/m/run-1/gate.json', ['gateReportUri']],
      ['models/m/run-1/model.int8.onnx', ['tag:flywheel.variant.int8.uri']],
      ['models/m/run-1/model.onnx', ['artifactUri', 'tag:flywheel.variant.fp32.uri']],
    ]);
    expect(plan.artifactUri).toBe('s3://bucket/prod/models/m/run-1/model.onnx');
    expect(plan.gateReportUri).toBe('s3://bucket/prod/models/m/run-1/gate.json');
    expect(plan.tags).toMatchObject({
      'flywheel.feature_spec': 's3://bucket/prod/features/m.json',
      'flywheel.variant.int8.gate': 'passed: auc within 0.002',
      // Outside the source store: kept as it is, not copied.
      elsewhere: 's3://other-bucket/x.json',
    });
  });

  it('refuses a model file outside the source store (it could not be verified)', () => {
    const err = (() => {
      try {
        planPromotion(version({ artifactUri: 's3://else/model.onnx' }), source, target);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PromotionError);
    expect(err).toMatchObject({ type: 'InvalidConfig', message: expect.stringContaining('outside the source store s3://bucket/staging') });
  });

  it('needs no gate report, and does not mistake a sibling prefix for the store', () => {
    const plan = planPromotion(version({ gateReportUri: undefined as never, tags: { note: `${SRC}-old/x.json` } }), source, target);
    expect(plan.copies.map((c) => c.key)).toEqual(['models/m/run-1/model.onnx']);
    expect(plan).not.toHaveProperty('gateReportUri');
    expect(plan.tags.note).toBe(`${SRC}-old/x.json`);
  });

  it('derives the target run id from the source environment and version', () => {
    expect(promotedRunId('staging', { version: 3, runId: 'run-1' })).toBe('promoted:staging:v3:run-1');
  });
});

async function stores() {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-promotion-'));
  return {
    root,
    from: await LocalArtifactStore.create(pathToFileURL(join(root, 'staging')).toString()),
    to: await LocalArtifactStore.create(pathToFileURL(join(root, 'prod')).toString()),
  };
}

describe('copyArtifacts', () => {
  it('copies with matching checksums, and a re-run finds the same bytes', async () => {
    const { from, to } = await stores();
    const a = await from.put('models/m/model.onnx', 'onnx');
    const b = await from.put('features/m.json', '{}');
    const plan = planPromotion(version({ artifactUri: a.uri, gateReportUri: undefined as never, tags: { f: b.uri } }), from, to);
    const copied = await copyArtifacts(plan.copies, from, to);
    expect(copied.map((c) => c.sha256)).toEqual([b.sha256, a.sha256]);
    expect((await to.stat('models/m/model.onnx'))?.sha256).toBe(a.sha256);
    expect(await copyArtifacts(plan.copies, from, to)).toEqual(copied);
  });

  it('writes nothing when one source object is corrupt or missing', async () => {
    const { root, from, to } = await stores();
    const a = await from.put('a/model.onnx', 'onnx');
    const b = await from.put('b/report.json', '{"auc":0.7}');
    // New bytes behind the store's back: its recorded checksum no longer matches.
    await writeFile(join(root, 'staging', 'b', 'report.json'), '{"auc":0.9}');
    const plan = planPromotion(version({ artifactUri: a.uri, gateReportUri: b.uri, tags: {} }), from, to);
    await expect(copyArtifacts(plan.copies, from, to)).rejects.toMatchObject({
      name: 'PromotionError',
      type: 'ArtifactCorrupt',
      message: expect.stringContaining('b/report.json: checksum mismatch'),
    });
    expect(await to.exists('a/model.onnx')).toBe(false);

    const gone = planPromotion(
      version({ artifactUri: from.uriFor('c/missing.onnx'), gateReportUri: undefined as never, tags: {} }),
      from,
      to,
    );
    await expect(copyArtifacts(gone.copies, from, to)).rejects.toMatchObject({ type: 'NotFound' });
  });

  it('leaves other bytes at the target key as they were', async () => {
    const { from, to } = await stores();
    const a = await from.put('m/model.onnx', 'new');
    await to.put('m/model.onnx', 'old');
    const plan = planPromotion(version({ artifactUri: a.uri, gateReportUri: undefined as never, tags: {} }), from, to);
    await expect(copyArtifacts(plan.copies, from, to)).rejects.toMatchObject({
      type: 'InvalidConfig',
      message: expect.stringContaining('already holds other bytes'),
    });
    expect((await to.get('m/model.onnx')).toString()).toBe('old');
  });
});

describe('promotionApproval', () => {
  const manifest = parseGitopsManifest(
    {
      apiVersion: 'flywheel/v1',
      environments: {
        staging: { models: { m: null } },
        prod: { models: { m: { patch: { approval: { mode: 'manual', timeout: '2h' } } } } },
      },
    },
    'flywheel.yaml',
  );

  it("reads the base spec's approval with the target environment's patch on top", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-approval-'));
    await mkdir(join(dir, 'models'));
    await writeFile(join(dir, 'models', 'm.yaml'), 'name: m\napproval: { default: approve }\n');
    expect(await promotionApproval(dir, manifest, 'prod', 'm')).toEqual({ mode: 'manual', timeoutMs: 7_200_000, default: 'approve' });
    expect(await promotionApproval(dir, manifest, 'staging', 'm')).toEqual({
      mode: 'automatic',
      timeoutMs: 86_400_000,
      default: 'approve',
    });
  });

  it('asks a person when no spec names the model, and refuses a bad approval section', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-approval-'));
    expect(await promotionApproval(dir, manifest, 'prod', 'unknown')).toEqual(UNSPECIFIED_APPROVAL);
    await mkdir(join(dir, 'models'));
    await writeFile(join(dir, 'models', 'm.json'), JSON.stringify({ name: 'm', approval: { mode: 'sometimes' } }));
    await expect(promotionApproval(dir, manifest, 'staging', 'm')).rejects.toMatchObject({
      type: 'InvalidConfig',
      message: expect.stringContaining('approval'),
    });
  });
});

describe('runPromotion', () => {
  it('refuses two environments that share one registry, before opening anything', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flywheel-shared-'));
    const settings = (namespace: string, schema?: string) =>
      `    settings:\n      TEMPORAL_NAMESPACE: ${namespace}\n      DATABASE_URL: \${DB}\n${schema ? `      FLYWHEEL_DB_SCHEMA: ${schema}\n` : ''}`;
    await writeFile(
      join(dir, 'flywheel.yaml'),
      `apiVersion: flywheel/v1\nenvironments:\n  staging:\n${settings('staging')}  prod:\n${settings('prod', 'public')}`,
    );
    const env = { DB: 'postgres://u:p@127.0.0.1:1/flywheel' };
    await expect(runPromotion('m', 1, { dir, from: 'staging', to: 'prod', env, out: () => undefined })).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('staging and prod share one model registry'),
    });
  });
});
