// docker-compose.temporal.yml beyond its schema (tests/unit/deploy-files.test.ts validates that):
// the Temporal server without the deprecated auto-setup image, the inference server wired into the
// workers, the HAProxy balancer rendered from infra/haproxy/serving.cfg.tmpl (rendered here with
// the compose file's own command and, where HAProxy is installed, checked with `haproxy -c`), and
// every Flywheel service on the compiled entry points of the image.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config/load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.temporal.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`no service ${name}`);
  return s;
};
const env = (s: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]));
/** A shell script in a compose command, with compose's `$$` escape undone. */
const script = (s: Service): string => (s.command ?? []).join('\n').replaceAll('$$', '$');

const flywheel = Object.entries(services).filter(([, s]) => s.build !== undefined);
const servingReplicas = flywheel.filter(([, s]) => s.command?.includes('serve')).map(([name]) => name);
const workers = flywheel.filter(([name]) => name.startsWith('worker-'));

describe('Temporal in docker-compose.temporal.yml', () => {
  it('does not use the deprecated auto-setup image', () => {
    const images = Object.values(services).map((s) => s.image ?? '');
    expect(images.filter((i) => i.includes('auto-setup'))).toEqual([]);
  });

  it('runs temporalio/server after a one-shot schema setup with temporal-sql-tool, on matching versions', () => {
    const temporal = service('temporal');
    const schema = service('temporal-schema');
    const server = /^temporalio\/server:(\d+\.\d+\.\d+)$/.exec(temporal.image ?? '')?.[1];
    expect(server).toBeDefined();
    expect(schema.image).toBe(`temporalio/admin-tools:${server}`);
    expect(service('temporal-namespace').image).toBe(`temporalio/admin-tools:${server}`);
    expect(temporal.depends_on).toEqual({ 'temporal-schema': { condition: 'service_completed_successfully' } });
    const setup = script(schema);
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d']) expect(setup).toContain(step);
    expect(setup).toContain('/etc/temporal/schema/postgresql/v12/$db/versioned');
    expect(setup).toMatch(/for db in temporal visibility/);
    // The server reads the same database settings the schema was applied with.
    expect(env(temporal)).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql', BIND_ON_IP: '0.0.0.0' });
    expect(setup).toContain('--ep postgresql -p 5432 -u temporal');
  });

  it('mounts a dynamic config file that exists and that DYNAMIC_CONFIG_FILE_PATH names', () => {
    const temporal = service('temporal');
    const mount = temporal.volumes!.find((v) => v.includes('dynamicconfig'))!;
    const [hostDir, containerDir] = mount.split(':');
    const file = env(temporal)['DYNAMIC_CONFIG_FILE_PATH']!;
    expect(containerDir).toBe('/etc/temporal/config/dynamicconfig');
    expect(file.startsWith('config/dynamicconfig/')).toBe(true);
    const local = join(ROOT, hostDir!, file.slice('config/dynamicconfig/'.length));
    expect(existsSync(local)).toBe(true);
    expect(parse(readFileSync(local, 'utf8'))).toHaveProperty(['system.forceSearchAttributesCacheRefreshOnRead']);
  });

  it('creates the namespace the Flywheel services use before they start', () => {
    const create = script(service('temporal-namespace'));
    for (const [name, s] of flywheel) {
      expect(s.depends_on?.['temporal-namespace'], name).toEqual({ condition: 'service_completed_successfully' });
      expect(create).toContain(`--namespace ${env(s)['TEMPORAL_NAMESPACE']}`);
    }
  });

  it('names only services that exist in depends_on, and only files that exist in bind mounts', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(Object.keys(services), `${name} → ${dep}`).toContain(dep);
      for (const v of s.volumes ?? []) if (v.startsWith('./')) expect(existsSync(join(ROOT, v.split(':')[0]!)), v).toBe(true);
    }
  });
});

describe('the inference server in docker-compose.temporal.yml', () => {
  it('runs `flywheel serve` replicas from the compiled image, in a config the server accepts', () => {
    expect(servingReplicas.sort()).toEqual(['serving-1', 'serving-2']);
    for (const name of servingReplicas) {
      const s = service(name);
      expect(s.command).toEqual(['node', 'dist/bin/flywheel.js', 'serve']);
      const config = loadConfig('serve', env(s));
      expect(config.serve.host).toBe('0.0.0.0');
      expect(config.serve.port).toBe(8080);
      expect(config.database.kind).toBe('postgres');
      // Each replica enforces its share of a key's limit (docs/load-balancer.md).
      expect(env(s)['FLYWHEEL_SERVE_RATE_LIMIT_SHARE']).toBe(String(servingReplicas.length));
    }
  });

  it('wires FLYWHEEL_SERVING_URL into both workers, at a serving replica on the port it listens on', () => {
    expect(workers.map(([name]) => name).sort()).toEqual(['worker-cpu', 'worker-gpu']);
    for (const [name, s] of workers) {
      const url = loadConfig('worker', env(s)).serving?.url;
      expect(url, name).toBeDefined();
      const { hostname, port } = new URL(url!);
      expect(servingReplicas).toContain(hostname);
      expect(Number(port)).toBe(loadConfig('serve', env(service(hostname))).serve.port);
    }
  });

  it('runs the web console from the compiled image in a config it accepts, published on loopback only', () => {
    const s = service('console');
    expect(s.command).toEqual(['node', 'dist/bin/flywheel.js', 'console']);
    const settings = loadConfig('console', env(s)).console;
    expect(settings.host).toBe('0.0.0.0');
    expect(s.ports).toEqual([`127.0.0.1:${settings.port}:${settings.port}`]);
    // Open reads only because the published port is loopback; the setting says so explicitly.
    expect(settings).toMatchObject({ reads: 'open', readsExplicit: true });
    expect(settings.webUiUrl).toBe('http://127.0.0.1:8233');
  });

  it('runs every Flywheel service on a compiled entry point (no tsx)', () => {
    for (const [name, s] of flywheel) {
      const command = s.command ?? ['node', 'dist/workers/cpu/main.js']; // the image's CMD (Dockerfile)
      expect(command.join(' '), name).not.toMatch(/tsx|\.ts\b/);
      const entry = command[1]!;
      expect(entry.startsWith('dist/')).toBe(true);
      // dist/x.js is compiled from x.ts; dist/bin/flywheel.js is written by scripts/build.ts.
      if (entry !== 'dist/bin/flywheel.js') expect(existsSync(join(ROOT, entry.slice(5).replace(/\.js$/, '.ts'))), entry).toBe(true);
    }
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).toContain('CMD ["node", "dist/workers/cpu/main.js"]');
  });
});

describe('the load balancer in docker-compose.temporal.yml', () => {
  const lb = service('serving-lb');
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-compose-lb-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The compose command's rendering step, run here on the repository's template. */
  function render(): string {
    const out = join(dir, 'serving.cfg');
    const template = join(ROOT, 'infra/haproxy/serving.cfg.tmpl');
    const mount = lb.volumes!.find((v) => v.startsWith('./infra/haproxy/serving.cfg.tmpl:'))!;
    const inContainer = mount.split(':')[1]!;
    const steps = script(lb)
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('exec haproxy'))
      .join('\n')
      .replaceAll(inContainer, template)
      .replaceAll('/tmp/serving.cfg', out);
    execFileSync('/bin/sh', ['-c', steps]);
    return readFileSync(out, 'utf8');
  }

  it('fills in every placeholder of infra/haproxy/serving.cfg.tmpl with the serving replicas', () => {
    const cfg = render();
    expect(cfg).not.toMatch(/@[A-Z_]+@/);
    expect(cfg).toMatch(/^\s+bind :8080$/m);
    const servers = [...cfg.matchAll(/^\s+server (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(servers).toEqual(servingReplicas.sort().map((name, i) => `replica${i + 1} ${name}:8080`));
    expect(lb.ports).toEqual(['127.0.0.1:8080:8080']);
    expect(script(lb)).toMatch(/^exec haproxy -W -db -f \/tmp\/serving\.cfg$/m);
  });

  // HAProxy is provisioned for the load-balancer tests (infra.sh); where it is, check the config.
  const haproxy = [process.env['FLYWHEEL_HAPROXY_PATH'], '/usr/sbin/haproxy'].find((p) => p && existsSync(p));
  it.skipIf(!haproxy)('renders a config HAProxy accepts (haproxy -c, replicas resolved locally)', () => {
    const cfg = join(dir, 'check.cfg');
    const local = render().replace(/serving-\d+:8080/g, '127.0.0.1:8080');
    execFileSync('/bin/sh', ['-c', `cat > ${cfg}`], { input: local });
    const out = execFileSync(haproxy!, ['-c', '-f', cfg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toMatch(/Configuration file is valid/);
  });
});
