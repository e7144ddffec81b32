// flywheel.yaml's environments: settings are Flywheel's own variables, secrets only as ${VAR}
// references (never a literal in git), references resolved from the caller's environment.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  environmentEnv,
  environmentSettings,
  GitopsManifestError,
  loadGitopsManifest,
  parseGitopsManifest,
} from '../../lib/gitops/manifest.ts';

const doc = (settings: Record<string, string>, extra: object = {}) => ({
  apiVersion: 'flywheel/v1',
  environments: { prod: { settings, models: { 'flights-delay': null, other: { state: 'paused' } } } },
  ...extra,
});

describe('flywheel.yaml', () => {
  it('fills the defaults: models folder, prune off, a listed model active with no patch', () => {
    const m = parseGitopsManifest(doc({ TEMPORAL_NAMESPACE: 'flywheel-prod' }), 'f.yaml');
    expect(m.models).toBe('models');
    expect(m.environments.prod).toEqual({
      settings: { TEMPORAL_NAMESPACE: 'flywheel-prod' },
      prune: false,
      models: { 'flights-delay': { state: 'active', patch: {} }, other: { state: 'paused', patch: {} } },
    });
  });

  it('refuses what is not a Flywheel setting, a literal secret, a bad environment name and a wrong apiVersion', () => {
    expect(() => parseGitopsManifest(doc({ PATH: '/bin' }), 'f.yaml')).toThrow(
      /environments\.prod\.settings\.PATH: not a Flywheel setting/,
    );
    expect(() => parseGitopsManifest(doc({ DATABASE_URL: 'postgres://u:pw@db/flywheel' }), 'f.yaml')).toThrow(
      /settings\.DATABASE_URL: a secret; write a reference such as \$\{PROD_DATABASE_URL\}/,
    );
    // Not even a literal with a reference inside it.
    expect(() => parseGitopsManifest(doc({ DATABASE_URL: 'postgres://u:${PW}@db/x' }), 'f.yaml')).toThrow(GitopsManifestError);
    expect(() => parseGitopsManifest({ ...doc({}), environments: { Prod: {} } }, 'f.yaml')).toThrow(/lowercase/);
    expect(() => parseGitopsManifest({ ...doc({}), apiVersion: 'v2' }, 'f.yaml')).toThrow(/apiVersion must be flywheel\/v1/);
    expect(() => parseGitopsManifest({ apiVersion: 'flywheel/v1', environments: {} }, 'f.yaml')).toThrow(/at least one environment/);
  });

  it('resolves ${VAR} references from the caller; an unset one is named; the settings win over the caller', () => {
    const m = parseGitopsManifest(
      doc({ DATABASE_URL: '${PROD_DATABASE_URL}', ARTIFACT_STORE: 's3://bucket/${STAGE}/artifacts', FLYWHEEL_DB_SCHEMA: 'prod' }),
      'f.yaml',
    );
    const caller = { PROD_DATABASE_URL: 'postgres://u:pw@db/flywheel', STAGE: 'p1', FLYWHEEL_DB_SCHEMA: 'public', HOME: '/root' };
    expect(environmentSettings(m, 'prod', caller)).toEqual({
      DATABASE_URL: 'postgres://u:pw@db/flywheel',
      ARTIFACT_STORE: 's3://bucket/p1/artifacts',
      FLYWHEEL_DB_SCHEMA: 'prod',
    });
    expect(environmentEnv(m, 'prod', caller)).toMatchObject({ HOME: '/root', FLYWHEEL_DB_SCHEMA: 'prod' });
    expect(() => environmentSettings(m, 'prod', { STAGE: 'p1' })).toThrow(/DATABASE_URL reads \$\{PROD_DATABASE_URL\}, which is not set/);
    expect(() => environmentSettings(m, 'qa', caller)).toThrow(/no environment "qa" in flywheel.yaml \(it has prod\)/);
  });

  it('names the file when it does not parse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gitops-manifest-'));
    await writeFile(join(dir, 'flywheel.yaml'), 'apiVersion: [unclosed\n');
    await expect(loadGitopsManifest(dir)).rejects.toThrow(new RegExp(`${dir}/flywheel.yaml: `));
  });
});
