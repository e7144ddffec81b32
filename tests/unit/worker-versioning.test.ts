// Worker Deployment Versioning settings (lib/temporal/versioning.ts): every workflow type has a
// behaviour, versioning stays off unless configured, and half a configuration is refused.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WORKFLOW_VERSIONING_BEHAVIORS, workerVersioningOptions } from '../../lib/temporal/versioning.ts';

const index = readFileSync(new URL('../../workflows/index.ts', import.meta.url), 'utf8');
const exported = [...index.matchAll(/^export\s*\{\s*(\w+)\s*\}\s*from/gm)].map((m) => m[1]!).sort();

describe('workflow versioning behaviours', () => {
  it('name one behaviour for each workflow type the bundle exports, and no other', () => {
    expect(exported.length).toBeGreaterThanOrEqual(10);
    expect(Object.keys(WORKFLOW_VERSIONING_BEHAVIORS).sort()).toEqual(exported);
  });

  it('pin runs that end on their own and auto-upgrade the entity workflows', () => {
    expect(WORKFLOW_VERSIONING_BEHAVIORS).toMatchObject({
      modelLifecycle: 'AUTO_UPGRADE',
      driftMonitor: 'AUTO_UPGRADE',
      modelCycle: 'PINNED',
      rollout: 'PINNED',
      trainModel: 'PINNED',
      prepareData: 'PINNED',
      batchPredict: 'PINNED',
      batchFeatures: 'PINNED',
      inferenceJob: 'PINNED',
    });
  });
});

describe('workerVersioningOptions', () => {
  it('is off when nothing is configured', () => {
    expect(workerVersioningOptions({})).toEqual({});
    expect(workerVersioningOptions({ deploymentName: '', buildId: undefined })).toEqual({});
  });

  it('joins the deployment as this build', () => {
    expect(workerVersioningOptions({ deploymentName: 'flywheel', buildId: 'b2' })).toEqual({
      workerDeploymentOptions: {
        version: { deploymentName: 'flywheel', buildId: 'b2' },
        useWorkerVersioning: true,
        defaultVersioningBehavior: 'AUTO_UPGRADE',
      },
    });
  });

  it('refuses a deployment without a build id and the reverse', () => {
    expect(() => workerVersioningOptions({ deploymentName: 'flywheel' })).toThrow(/both a deployment name and a build id/);
    expect(() => workerVersioningOptions({ buildId: 'b2' })).toThrow(/both a deployment name and a build id/);
  });
});
