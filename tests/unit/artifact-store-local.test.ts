import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalArtifactStore } from '../../lib/storage/index.ts';
import { describeArtifactStoreContract } from '../contract/artifact-store.contract.ts';

describeArtifactStoreContract('local folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'flywheel-store-'));
  const store = await LocalArtifactStore.create(pathToFileURL(root).toString());
  return {
    store,
    corrupt: (key, bytes) => writeFile(join(root, ...key.split('/')), bytes),
  };
});
