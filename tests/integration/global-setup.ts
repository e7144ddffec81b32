// Provisions and starts the real servers the integration tests need, through the project's own
// idempotent scripts (infra/scripts/infra.sh), and stops on teardown whatever it started.
// FLYWHEEL_TEST_EXTERNAL=1 uses servers that already run, named by the usual variables.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { SYSTEM_TMPDIR_VARIABLE } from '../temp-root.ts';
import type { InfraEnv } from './infra.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const SERVICES = ['temporal', 'postgres', 's3', 'mlflow'] as const;
/** Tools (no servers) the tests start themselves. */
const TOOLS = ['trainers', 'haproxy', 'jaeger'];

function infra(args: string[], inherit = false) {
  const res = spawnSync('bash', ['infra/scripts/infra.sh', ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: inherit ? ['ignore', 'inherit', 'inherit'] : 'pipe',
    timeout: 40 * 60_000,
    env: serverEnv(),
  });
  return res;
}

// The servers outlive a test run (a developer's stay up), so they keep the system's temporary
// folder rather than the run's, which is removed when the run ends.
function serverEnv(): NodeJS.ProcessEnv {
  const system = process.env[SYSTEM_TMPDIR_VARIABLE];
  return system ? { ...process.env, TMPDIR: system } : process.env;
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) env[m[1]] = m[2] ?? '';
  }
  return env;
}

function required(env: Record<string, string | undefined>, key: string): string {
  const value = env[key];
  if (!value) throw new Error(`integration tests need ${key} (set it, or unset FLYWHEEL_TEST_EXTERNAL to start servers)`);
  return value;
}

export default function setup(project: TestProject) {
  let started: string[] = [];
  let env: Record<string, string>;
  if (process.env.FLYWHEEL_TEST_EXTERNAL === '1') {
    env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  } else {
    const down = SERVICES.filter((s) => infra(['status', s]).status !== 0);
    if (down.length > 0) {
      console.log(`[integration] starting real servers: ${down.join(', ')} (first run provisions them; see infra/scripts)`);
      // The tools ride along, so their builds (Jaeger, the trainers venv) run beside the servers'
      // on a fresh machine instead of after them; `up` starts only the servers.
      const up = infra(['up', ...down, ...TOOLS], true);
      if (up.status !== 0) throw new Error(`infra.sh up ${down.join(' ')} failed with exit code ${up.status}`);
    }
    started = down;
    // The trainers venv, HAProxy and Jaeger are no servers: servers already up say nothing of them, so
    // provision them every time (instant when current).
    const tools = infra(['provision', ...TOOLS], true);
    if (tools.status !== 0) throw new Error(`infra.sh provision ${TOOLS.join(' ')} failed with exit code ${tools.status}`);
    env = parseEnv(infra(['env']).stdout);
  }
  const s3Bucket = required(env, 'ARTIFACT_STORE')
    .replace(/^s3:\/\//, '')
    .split('/')[0]!;
  const provided: InfraEnv = {
    env,
    temporalAddress: required(env, 'TEMPORAL_ADDRESS'),
    temporalCliPath: required(env, 'TEMPORAL_CLI_PATH'),
    databaseUrl: required(env, 'DATABASE_URL'),
    s3Endpoint: required(env, 'S3_ENDPOINT'),
    s3Bucket,
    mlflowBucket: env.FLYWHEEL_INFRA_MLFLOW_BUCKET ?? 'flywheel-mlflow',
    mlflowUri: required(env, 'MLFLOW_TRACKING_URI'),
    ...(env.FLYWHEEL_MLFLOW_PYTHON ? { mlflowPython: env.FLYWHEEL_MLFLOW_PYTHON } : {}),
    ...(env.FLYWHEEL_TRAINERS_PYTHON ? { trainersPython: env.FLYWHEEL_TRAINERS_PYTHON } : {}),
    ...(env.FLYWHEEL_HAPROXY_PATH ? { haproxyPath: env.FLYWHEEL_HAPROXY_PATH } : {}),
    ...(env.FLYWHEEL_JAEGER_PATH ? { jaegerPath: env.FLYWHEEL_JAEGER_PATH } : {}),
    temporalUiUrl:
      env.FLYWHEEL_TEMPORAL_UI_URL ??
      `http://${required(env, 'TEMPORAL_ADDRESS').replace(/:(\d+)$/, (_m, p: string) => `:${Number(p) + 1000}`)}`,
  };
  project.provide('infra', provided);

  // Asynchronous on purpose: a blocking spawnSync here would stall vitest's main thread while
  // it shuts its test workers down.
  return async () => {
    if (started.length === 0) return;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('bash', ['infra/scripts/infra.sh', 'down', ...started], {
        cwd: root,
        stdio: ['ignore', 'inherit', 'inherit'],
        env: serverEnv(),
      });
      child.on('exit', resolve);
      child.on('error', () => resolve(-1));
    });
    if (code !== 0) console.error(`[integration] infra.sh down exited ${code}`);
  };
}
