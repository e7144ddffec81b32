import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { describeDataValidationContract } from '../contract/data-validation.contract.ts';

describeDataValidationContract('local folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-dv-'));
  return { store: await LocalArtifactStore.create(pathToFileURL(join(root, 'store')).toString()), tmpDir: root, prefix: 'test' };
});
