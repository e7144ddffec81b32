// Every test run gets one private temporary folder, removed when the run ends. Tests, the
// servers they start and the processes those spawn all create their scratch folders through
// os.tmpdir() (TMPDIR), so pointing TMPDIR here keeps a run from leaving gigabytes of PGlite
// databases and model files behind in /tmp, run after run, until the disk is full.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The system's TMPDIR before a run replaced it: for servers that outlive the run. */
export const SYSTEM_TMPDIR_VARIABLE = 'FLYWHEEL_TEST_SYSTEM_TMPDIR';
const ROOT_VARIABLE = 'FLYWHEEL_TEST_TMP_ROOT';

export default function setup() {
  // Both projects list this setup; the first one of a run owns the folder, the other reuses it.
  if (process.env[ROOT_VARIABLE]) return;
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'flywheel-test-'));
  process.env[SYSTEM_TMPDIR_VARIABLE] = tmpdir();
  process.env[ROOT_VARIABLE] = root;
  // Read by os.tmpdir() in this process and inherited by the test workers vitest starts next.
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    delete process.env[ROOT_VARIABLE];
    delete process.env[SYSTEM_TMPDIR_VARIABLE];
    rmSync(root, { recursive: true, force: true });
  };
}
