// Finds the `temporal` CLI for the embedded dev server: TEMPORAL_CLI_PATH, then PATH, then the
// copy the infra scripts build into .tools/bin; failing all three, the SDK downloads one (needs
// internet, so air-gapped machines provision it first with `npm run infra:provision temporal`).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TemporalExecutable =
  | { type: 'existing-path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | '.tools' }
  | { type: 'cached-download'; source: 'download' };

const TOOLS_BIN = fileURLToPath(new URL('../../.tools/bin/temporal', import.meta.url));

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveTemporalExecutable(cliPath: string | undefined, pathEnv = process.env.PATH ?? ''): TemporalExecutable {
  if (cliPath) {
    if (!isExecutable(cliPath)) throw new Error(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file`);
    return { type: 'existing-path', path: cliPath, source: 'TEMPORAL_CLI_PATH' };
  }
  for (const dir of pathEnv.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (isExecutable(candidate)) return { type: 'existing-path', path: candidate, source: 'PATH' };
  }
  if (isExecutable(TOOLS_BIN)) return { type: 'existing-path', path: TOOLS_BIN, source: '.tools' };
  return { type: 'cached-download', source: 'download' };
}
