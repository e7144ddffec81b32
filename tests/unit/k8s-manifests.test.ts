// The Kubernetes manifests as a cluster would receive them: every overlay (and the Argo CD
// Applications, and an overlay with the Temporal API key component) rendered by the real Kustomize,
// each document validated against the Kubernetes OpenAPI schemas (kubernetes-models) and the KEDA
// and Argo CD CRD schemas (@kubernetes-models/keda, @kubernetes-models/argo-cd), then the rules a
// schema cannot state: the Pod Security "restricted" profile, a PodDisruptionBudget and a
// ServiceAccount per Deployment, a hashed generated ConfigMap, drain-safe GPU scale-in, overlays that
// really differ. Kustomize is provisioned through `infra.sh provision kustomize`: built with Go into
// .tools/bin on first use (176 s measured with empty Go caches on a busy two-core machine), instant
// after.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { ConfigMap, Namespace, Service, ServiceAccount } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Application, AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { ENV_VARS } from '../../lib/config/vars.ts';
import { loadConfig } from '../../lib/config/load.ts';
import { TASK_QUEUES } from '../../lib/temporal/constants.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const K8S_DIR = join(ROOT, 'infra/k8s');
const TOOLS_DIR = process.env.FLYWHEEL_TOOLS_DIR ?? join(ROOT, '.tools');
const ENVS = ['dev', 'staging', 'prod'] as const;
type Env = (typeof ENVS)[number];

/** The training activity's default checkpoint interval (CheckpointPolicy.everyMs). */
const DEFAULT_CHECKPOINT_EVERY_MS = 30_000;

// ---- Rendering and schema validation -------------------------------------------------------

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Each check narrows what it reads; the schemas have already vouched for the shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [field: string]: any;
}

type Model = new (data: never) => { validate(): void };

/** Every kind the manifests may contain, by apiVersion/kind. Anything else fails the test. */
const MODELS: Record<string, Model> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/Ingress': Ingress,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
  'argoproj.io/v1alpha1/Application': Application,
  'argoproj.io/v1alpha1/AppProject': AppProject,
};

/** Throws, naming the object and the JSON path, when a document does not match its schema. */
function validateManifest(doc: Manifest): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const model = MODELS[key];
  if (!model) throw new Error(`${key} ${doc.metadata?.name}: no schema for this kind (add its model to MODELS)`);
  try {
    new model(doc as never).validate();
  } catch (err) {
    throw new Error(`${key} ${doc.metadata.name}: ${(err as Error).message}`);
  }
}

function provisionKustomize(): string {
  const res = spawnSync('bash', [join(ROOT, 'infra/scripts/infra.sh'), 'provision', 'kustomize'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (res.status !== 0) throw new Error(`infra.sh provision kustomize failed (${res.status}):\n${res.stdout}${res.stderr}`);
  return join(TOOLS_DIR, 'bin', 'kustomize');
}

function render(kustomize: string, dir: string): Manifest[] {
  const out = execFileSync(kustomize, ['build', dir], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
}

const rendered = new Map<string, Manifest[]>();
function docs(target: string): Manifest[] {
  const found = rendered.get(target);
  if (!found) throw new Error(`${target} was not rendered`);
  return found;
}
const ofKind = <T extends Manifest = Manifest>(list: Manifest[], kind: string) => list.filter((d) => d.kind === kind) as T[];
function one(list: Manifest[], kind: string, name: string): Manifest {
  const found = list.find((d) => d.kind === kind && d.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
}

beforeAll(() => {
  const kustomize = provisionKustomize();
  for (const env of ENVS) rendered.set(env, render(kustomize, join(K8S_DIR, 'overlays', env)));
  rendered.set('argocd', render(kustomize, join(K8S_DIR, 'argocd')));
  // The Temporal API key component, as an overlay would add it (to prod here).
  const dir = mkdtempSync(join(tmpdir(), 'flywheel-k8s-'));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(dir, join(K8S_DIR, 'overlays/prod'))}`,
        'components:',
        `  - ${relative(dir, join(K8S_DIR, 'components/temporal-api-key'))}`,
        '',
      ].join('\n'),
    );
    rendered.set('prod+temporal-api-key', render(kustomize, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // A bare machine builds Kustomize with Go first (minutes); later runs render in about a second.
}, 900_000);

describe('infra.sh provision kustomize', () => {
  it('is a no-op once the pinned version is in place', () => {
    const started = Date.now();
    const res = spawnSync('bash', [join(ROOT, 'infra/scripts/infra.sh'), 'provision', 'kustomize'], { cwd: ROOT, encoding: 'utf8' });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr).not.toContain('building kustomize');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(execFileSync(join(TOOLS_DIR, 'bin', 'kustomize'), ['version'], { encoding: 'utf8' }).trim()).toMatch(/^v5\./);
  });
});

describe('schema validation', () => {
  it.each([...ENVS, 'argocd', 'prod+temporal-api-key'])('%s: every rendered document matches its schema', (target) => {
    const list = docs(target);
    expect(list.length).toBeGreaterThan(0);
    for (const doc of list) validateManifest(doc);
  });

  it('rejects a kind it has no schema for, and a document that breaks its schema', () => {
    expect(() => validateManifest({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(
      /example.com\/v1\/Widget w: no schema/,
    );
    const deployment = structuredClone(one(docs('prod'), 'Deployment', 'flywheel-serving'));
    deployment.spec.template.spec.terminationGracePeriodSeconds = 'thirty';
    expect(() => validateManifest(deployment)).toThrow(/terminationGracePeriodSeconds must be integer/);
    const scaled = structuredClone(one(docs('prod'), 'ScaledObject', 'flywheel-worker-gpu'));
    scaled.spec.triggers[0].metadata.targetQueueSize = 1;
    expect(() => validateManifest(scaled)).toThrow(/targetQueueSize must be string/);
  });
});

// ---- Policy: what a schema cannot say -----------------------------------------------------

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string } };
  readinessProbe?: { httpGet: { path: string; port: string } };
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  volumeMounts?: { name: string; mountPath: string }[];
  securityContext?: {
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    readOnlyRootFilesystem?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    capabilities?: { add?: string[]; drop?: string[] };
    seccompProfile?: { type: string };
  };
}

interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: { type: string } };
  containers: Container[];
  initContainers?: Container[];
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

const podSpec = (d: Manifest) => d.spec.template.spec as PodSpec;
const podLabels = (d: Manifest) => d.spec.template.metadata.labels as Record<string, string>;

/** Volume types the "restricted" Pod Security profile allows. */
const RESTRICTED_VOLUMES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

/** The violations of the Pod Security "restricted" profile in one pod template (empty: none). */
function restrictedViolations(spec: PodSpec): string[] {
  const out: string[] = [];
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) out.push('host namespaces');
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) out.push(`volume ${v.name} of type ${type}`);
  }
  for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) out.push(`${c.name}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) out.push(`${c.name}: privileged`);
    if (!(sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot)) out.push(`${c.name}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? spec.securityContext?.runAsUser) === 0) out.push(`${c.name}: runs as UID 0`);
    const seccomp = sc.seccompProfile?.type ?? spec.securityContext?.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') out.push(`${c.name}: seccompProfile is ${seccomp}`);
    if (!sc.capabilities?.drop?.includes('ALL')) out.push(`${c.name}: capabilities do not drop ALL`);
    const added = (sc.capabilities?.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
    if (added.length > 0) out.push(`${c.name}: adds capabilities ${added.join(', ')}`);
    // Not part of "restricted", but required here: nothing writes outside its volumes.
    if (sc.readOnlyRootFilesystem !== true) out.push(`${c.name}: root filesystem is writable`);
  }
  return out;
}

const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

/** Quantities as numbers (cores, bytes) so resources compare across overlays. */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) throw new Error(`unparsed quantity ${q}`);
  const factor = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * factor;
}

/** What the pods of a Deployment see as their environment (generated ConfigMap, example Secret, own env). */
function podEnv(list: Manifest[], deployment: Manifest): Record<string, string> {
  const container = podSpec(deployment).containers[0]!;
  const fromConfigMaps = (container.envFrom ?? []).flatMap((e) =>
    e.configMapRef ? [one(list, 'ConfigMap', e.configMapRef.name).data as Record<string, string>] : [],
  );
  const own = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value ?? '']));
  return Object.assign({}, ...fromConfigMaps, exampleSecret(), own) as Record<string, string>;
}

function exampleSecret(): Record<string, string> {
  return (parse(readFileSync(join(K8S_DIR, 'base/secret.example.yaml'), 'utf8')) as { stringData: Record<string, string> }).stringData;
}

/** Read by the AWS SDK's default credential provider chain, not by Flywheel's config. */
const AWS_SDK_CREDENTIALS = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']);

describe.each(ENVS)('overlay %s', (env: Env) => {
  const list = () => docs(env);
  const namespace = `flywheel-${env}`;

  it('renders its own namespace, with Pod Security "restricted" enforced, and puts everything in it', () => {
    const [ns, ...more] = ofKind(list(), 'Namespace');
    expect(more).toEqual([]);
    expect(ns!.metadata.name).toBe(namespace);
    expect(ns!.metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const elsewhere = list().filter((d) => d.kind !== 'Namespace' && d.metadata.namespace !== namespace);
    expect(elsewhere.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([]);
  });

  it('runs every pod under the "restricted" profile, read-only, with emptyDir scratch on /tmp', () => {
    const deployments = ofKind(list(), 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual([
      'flywheel-console',
      'flywheel-serving',
      'flywheel-worker-cpu',
      'flywheel-worker-gpu',
    ]);
    for (const d of deployments) {
      const spec = podSpec(d);
      expect(restrictedViolations(spec), d.metadata.name).toEqual([]);
      const emptyDirs = new Set((spec.volumes ?? []).filter((v) => 'emptyDir' in v).map((v) => v.name));
      for (const c of spec.containers) {
        const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
        expect(tmp && emptyDirs.has(tmp.name), `${d.metadata.name}/${c.name} has an emptyDir on /tmp`).toBe(true);
      }
    }
  });

  it('gives every Deployment a PodDisruptionBudget, its own ServiceAccount without an API token, and an autoscaler', () => {
    const pdbs = ofKind(list(), 'PodDisruptionBudget');
    for (const d of ofKind(list(), 'Deployment')) {
      const name = d.metadata.name;
      const covering = pdbs.filter((p) => matches(p.spec.selector.matchLabels, podLabels(d)));
      expect(covering.length, `${name}: PodDisruptionBudgets`).toBe(1);
      // maxUnavailable, so a Deployment at one replica (or zero) never blocks a node drain.
      expect(covering[0]!.spec.maxUnavailable, name).toBe(1);
      const sa = podSpec(d).serviceAccountName;
      expect(sa, `${name}: serviceAccountName`).toBeTruthy();
      expect(one(list(), 'ServiceAccount', sa!).automountServiceAccountToken, `${name}: token`).toBe(false);
      // The autoscaler owns the replica count; a value in git would fight it on every sync.
      expect(d.spec.replicas, `${name}: replicas`).toBeUndefined();
      const scalers = list().filter(
        (s) =>
          (s.kind === 'HorizontalPodAutoscaler' && s.spec.scaleTargetRef.kind === 'Deployment' && s.spec.scaleTargetRef.name === name) ||
          (s.kind === 'ScaledObject' &&
            s.spec.scaleTargetRef.name === name &&
            (s.spec.scaleTargetRef.kind ?? 'Deployment') === 'Deployment'),
      );
      expect(scalers.length, `${name}: autoscalers`).toBe(1);
    }
  });

  it('generates one hashed ConfigMap that every Deployment reads, with only Flywheel variables and FLYWHEEL_ENV set to its name', () => {
    const [cm, ...more] = ofKind(list(), 'ConfigMap');
    expect(more).toEqual([]);
    expect(cm!.metadata.name).toMatch(/^flywheel-config-[a-z0-9]{10}$/);
    const data = cm!.data as Record<string, string>;
    expect(Object.keys(data).filter((k) => !Object.hasOwn(ENV_VARS, k))).toEqual([]);
    expect(data['FLYWHEEL_ENV']).toBe(env);
    for (const d of ofKind(list(), 'Deployment')) {
      const refs = podSpec(d).containers.flatMap((c) => (c.envFrom ?? []).flatMap((e) => (e.configMapRef ? [e.configMapRef.name] : [])));
      expect(refs, d.metadata.name).toEqual([cm!.metadata.name]);
      const own = podSpec(d).containers.flatMap((c) => (c.env ?? []).map((e) => e.name));
      expect(
        own.filter((n) => !Object.hasOwn(ENV_VARS, n)),
        d.metadata.name,
      ).toEqual([]);
    }
    // The example Secret is never rendered, and holds only variables something reads.
    expect(ofKind(list(), 'Secret')).toEqual([]);
    expect(Object.keys(exampleSecret()).filter((k) => !Object.hasOwn(ENV_VARS, k) && !AWS_SDK_CREDENTIALS.has(k))).toEqual([]);
  });

  it('starts each process with a config it accepts, probes and scrape annotations on the port it listens on', () => {
    for (const d of ofKind(list(), 'Deployment')) {
      const env = podEnv(list(), d);
      const container = podSpec(d).containers[0]!;
      const named = new Map((container.ports ?? []).map((p) => [p.name, p.containerPort]));
      const kind = d.metadata.name === 'flywheel-serving' ? 'serve' : d.metadata.name === 'flywheel-console' ? 'console' : 'worker';
      const listen =
        kind === 'serve'
          ? loadConfig('serve', env).serve
          : kind === 'console'
            ? loadConfig('console', env).console
            : loadConfig('worker', env).worker.http;
      expect(loadConfig(kind, env).env).toBe(env['FLYWHEEL_ENV']);
      const port = listen?.port;
      // The console has no /metrics to scrape; every other process does.
      if (kind !== 'console')
        expect(d.spec.template.metadata.annotations, d.metadata.name).toEqual({
          'prometheus.io/scrape': 'true',
          'prometheus.io/port': String(port),
          'prometheus.io/path': '/metrics',
        });
      expect(named.get(container.livenessProbe!.httpGet.port), d.metadata.name).toBe(port);
      expect(named.get(container.readinessProbe!.httpGet.port), d.metadata.name).toBe(port);
      expect([container.livenessProbe!.httpGet.path, container.readinessProbe!.httpGet.path]).toEqual(['/healthz', '/readyz']);
      // Reachable from the kubelet, the Service and Prometheus, not only from inside the pod.
      expect(listen?.host, d.metadata.name).toBe('0.0.0.0');
    }
  });

  it('runs the console with reads behind a login and a session secret every replica shares', () => {
    const consoleDeployment = one(list(), 'Deployment', 'flywheel-console');
    const settings = loadConfig('console', podEnv(list(), consoleDeployment)).console;
    expect(settings.reads).toBe('login');
    const secretRef = (
      podSpec(consoleDeployment).containers[0]!.env as Array<{ name: string; valueFrom?: { secretKeyRef?: unknown } }>
    ).find((e) => e.name === 'FLYWHEEL_CONSOLE_SESSION_SECRET');
    expect(secretRef?.valueFrom?.secretKeyRef).toMatchObject({ name: 'flywheel-secrets', key: 'FLYWHEEL_CONSOLE_SESSION_SECRET' });
    expect(exampleSecret()['FLYWHEEL_CONSOLE_SESSION_SECRET']!.length).toBeGreaterThanOrEqual(32);
  });

  it('scales the workers on their Temporal task queues, reading the address and namespace the workers use', () => {
    const queues = (name: string) =>
      (one(list(), 'ScaledObject', name).spec.triggers as { type: string; metadata: Record<string, string> }[])
        .filter((t) => t.type === 'temporal')
        .map((t) => t.metadata);
    expect(queues('flywheel-worker-cpu').map((m) => m.taskQueue)).toEqual([TASK_QUEUES.cpu, TASK_QUEUES.control]);
    expect(queues('flywheel-worker-gpu').map((m) => m.taskQueue)).toEqual([TASK_QUEUES.gpu]);
    for (const name of ['flywheel-worker-cpu', 'flywheel-worker-gpu']) {
      const env = podEnv(list(), one(list(), 'Deployment', name));
      for (const m of queues(name)) {
        expect(env[m.endpointFromEnv!], `${name}: ${m.endpointFromEnv}`).toBeTruthy();
        expect(env[m.namespaceFromEnv!], `${name}: ${m.namespaceFromEnv}`).toBe(`flywheel-${env['FLYWHEEL_ENV']}`);
        expect(Number(m.targetQueueSize)).toBeGreaterThan(0);
      }
    }
  });

  it('scales GPU workers in drain-safely: grace > shutdown grace + checkpoint interval, slow one-pod scale-down, running tasks counted', () => {
    const gpu = one(list(), 'Deployment', 'flywheel-worker-gpu');
    const env = podEnv(list(), gpu);
    const shutdownGraceMs = loadConfig('worker', env).worker.shutdownGraceMs;
    expect(podSpec(gpu).terminationGracePeriodSeconds! * 1000).toBeGreaterThan(shutdownGraceMs + DEFAULT_CHECKPOINT_EVERY_MS);
    // No surge pod: it would need a second free GPU.
    expect(gpu.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
    const so = one(list(), 'ScaledObject', 'flywheel-worker-gpu').spec;
    const down = so.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    expect(down.stabilizationWindowSeconds).toBeGreaterThanOrEqual(600);
    expect(down.policies).toEqual([{ type: 'Pods', value: 1, periodSeconds: 600 }]);
    const busy = (so.triggers as { type: string; metadata: Record<string, string> }[]).find((t) => t.type === 'prometheus');
    expect(busy?.metadata.query).toContain(`namespace="flywheel-${env['FLYWHEEL_ENV']}"`);
    expect(busy?.metadata.query).toContain(`task_queue="${TASK_QUEUES.gpu}"`);
  });

  it.each(['flywheel-serving', 'flywheel-console'])('exposes %s through a TLS Ingress on the Service port it names', (name) => {
    const ingress = one(list(), 'Ingress', name).spec;
    const host = ingress.rules[0].host as string;
    expect(host).toMatch(/example\.com$/);
    expect(ingress.tls[0].hosts).toEqual([host]);
    const backend = ingress.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(name);
    const service = one(list(), 'Service', backend.name).spec;
    expect(service.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
  });
});

describe('overlays', () => {
  const deploymentResources = (env: Env, name: string) => podSpec(one(docs(env), 'Deployment', name)).containers[0]!.resources!;

  it('differ for real: resources, autoscaling bounds, image tags and hosts grow from dev to prod', () => {
    const pairs: [Env, Env][] = [
      ['dev', 'staging'],
      ['staging', 'prod'],
    ];
    for (const [small, large] of pairs) {
      for (const name of ['flywheel-serving', 'flywheel-worker-cpu', 'flywheel-worker-gpu']) {
        const [a, b] = [deploymentResources(small, name), deploymentResources(large, name)];
        expect(quantity(b.requests?.cpu), `${name} cpu ${small} < ${large}`).toBeGreaterThan(quantity(a.requests?.cpu));
        expect(quantity(b.requests?.memory), `${name} memory ${small} < ${large}`).toBeGreaterThan(quantity(a.requests?.memory));
      }
      const hpa = (env: Env) => one(docs(env), 'HorizontalPodAutoscaler', 'flywheel-serving').spec;
      expect(hpa(large).maxReplicas).toBeGreaterThan(hpa(small).maxReplicas);
      for (const name of ['flywheel-worker-cpu', 'flywheel-worker-gpu']) {
        const so = (env: Env) => one(docs(env), 'ScaledObject', name).spec;
        expect(so(large).maxReplicaCount, name).toBeGreaterThan(so(small).maxReplicaCount);
        expect(so(large).minReplicaCount, name).toBeGreaterThanOrEqual(so(small).minReplicaCount);
      }
    }
    const distinct = (pick: (env: Env) => unknown) => new Set(ENVS.map((e) => JSON.stringify(pick(e)))).size;
    expect(distinct((e) => podSpec(one(docs(e), 'Deployment', 'flywheel-serving')).containers[0]!.image)).toBe(3);
    expect(distinct((e) => one(docs(e), 'Ingress', 'flywheel-serving').spec.rules[0].host)).toBe(3);
    expect(distinct((e) => one(docs(e), 'Namespace', `flywheel-${e}`).metadata.name)).toBe(3);
    expect(distinct((e) => ofKind(docs(e), 'ConfigMap')[0]!.data['TEMPORAL_NAMESPACE'])).toBe(3);
  });
});

describe('Argo CD', () => {
  it('has one Application per overlay, into its namespace, automated with prune and selfHeal except prod', () => {
    const apps = ofKind(docs('argocd'), 'Application');
    expect(apps.map((a) => a.metadata.name).sort()).toEqual(['flywheel-dev', 'flywheel-prod', 'flywheel-staging']);
    const project = one(docs('argocd'), 'AppProject', 'flywheel').spec;
    for (const env of ENVS) {
      const app = one(docs('argocd'), 'Application', `flywheel-${env}`);
      expect(app.metadata.namespace).toBe('argocd');
      const { source, destination, syncPolicy, project: projectName } = app.spec;
      expect(projectName).toBe('flywheel');
      expect(source.path).toBe(`infra/k8s/overlays/${env}`);
      expect(existsSync(join(ROOT, source.path, 'kustomization.yaml'))).toBe(true);
      expect(project.sourceRepos).toContain(source.repoURL);
      expect(destination.namespace).toBe(ofKind(docs(env), 'Namespace')[0]!.metadata.name);
      expect(project.destinations).toContainEqual({ server: destination.server, namespace: destination.namespace });
      expect(syncPolicy.automated).toEqual(env === 'prod' ? undefined : { prune: true, selfHeal: true });
    }
  });

  it('lets the project deploy every kind an overlay renders', () => {
    const project = one(docs('argocd'), 'AppProject', 'flywheel').spec;
    const allowed = [...project.clusterResourceWhitelist, ...project.namespaceResourceWhitelist].map(
      (r: { group: string; kind: string }) => `${r.group}/${r.kind}`,
    );
    for (const target of [...ENVS, 'prod+temporal-api-key']) {
      for (const d of docs(target)) {
        const group = d.apiVersion.includes('/') ? d.apiVersion.split('/')[0] : '';
        expect(allowed, `${target}: ${d.kind}`).toContain(`${group}/${d.kind}`);
      }
    }
  });
});

describe('components/temporal-api-key', () => {
  it('authenticates every temporal trigger with the API key from flywheel-secrets', () => {
    const list = docs('prod+temporal-api-key');
    const auth = one(list, 'TriggerAuthentication', 'flywheel-temporal').spec;
    expect(auth.secretTargetRef).toEqual([{ parameter: 'apiKey', name: 'flywheel-secrets', key: 'TEMPORAL_API_KEY' }]);
    const triggers = ofKind(list, 'ScaledObject').flatMap(
      (s) => s.spec.triggers as { type: string; authenticationRef?: { name: string } }[],
    );
    const temporal = triggers.filter((t) => t.type === 'temporal');
    expect(temporal.length).toBe(3);
    for (const t of temporal) expect(t.authenticationRef).toEqual({ name: 'flywheel-temporal' });
  });
});
