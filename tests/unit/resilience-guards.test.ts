// The server's registry and store behind breakers: answers about the request (no such alias, no
// such object) leave the circuit closed, failures of the dependency open it, and an open circuit
// refuses without calling; the store's own I/O is aborted at the deadline.
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, DependencyUnavailableError } from '../../lib/resilience/breaker.ts';
import { guardRegistry, guardStore, isNeutralRegistryError, isNeutralStoreError } from '../../lib/resilience/guards.ts';
import { AliasNotFoundError, MlflowError, type ModelRegistry } from '../../lib/registry/index.ts';
import { ArtifactNotFoundError } from '../../lib/storage/errors.ts';
import type { ArtifactStore } from '../../lib/storage/index.ts';

describe('guardRegistry', () => {
  it('does not count "no such alias", opens on unreachable, then refuses without calling', async () => {
    let calls = 0;
    let answer: () => Promise<never> = () => Promise.reject(new AliasNotFoundError('m', 'champion'));
    const inner = {
      kind: 'builtin',
      getAlias: () => {
        calls++;
        return answer();
      },
    } as unknown as ModelRegistry;
    const breaker = new CircuitBreaker({ name: 'the model registry', failureThreshold: 2, isNeutral: isNeutralRegistryError });
    const registry = guardRegistry(inner, breaker);
    for (let i = 0; i < 3; i++) await expect(registry.getAlias('m', 'champion')).rejects.toBeInstanceOf(AliasNotFoundError);
    expect(breaker.state).toBe('closed');
    answer = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5000'));
    await expect(registry.getAlias('m', 'champion')).rejects.toThrow('ECONNREFUSED');
    await expect(registry.getAlias('m', 'champion')).rejects.toThrow('ECONNREFUSED');
    expect(breaker.state).toBe('open');
    await expect(registry.getAlias('m', 'champion')).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(calls).toBe(5);
  });

  it('counts an MLflow 5xx but not a 4xx', () => {
    expect(isNeutralRegistryError(new MlflowError(404, 'RESOURCE_DOES_NOT_EXIST', 'no'))).toBe(true);
    expect(isNeutralRegistryError(new MlflowError(503, 'TEMPORARILY_UNAVAILABLE', 'busy'))).toBe(false);
  });
});

describe('guardStore', () => {
  it('aborts a hung read at the deadline through the signal it passes on', async () => {
    let seen: AbortSignal | undefined;
    const inner = {
      baseUri: 'file:///x',
      get: (_key: string, options?: { signal?: AbortSignal }) => {
        seen = options?.signal;
        return new Promise<Buffer>(() => undefined);
      },
    } as unknown as ArtifactStore;
    const store = guardStore(inner, new CircuitBreaker({ name: 'the artifact store', timeoutMs: 50, isNeutral: isNeutralStoreError }));
    const err = await store.get('models/m/v1/model.onnx', { verify: true }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('the artifact store did not answer within 50 ms');
    expect(seen?.aborted).toBe(true);
    expect(store.baseUri).toBe('file:///x');
  });

  it('does not count a missing object', () => {
    expect(isNeutralStoreError(new ArtifactNotFoundError('file:///x/a'))).toBe(true);
    expect(isNeutralStoreError(new Error('socket hang up'))).toBe(false);
  });
});
