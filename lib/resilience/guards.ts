// The inference server's registry and artifact store behind breakers: every call gets a deadline
// and fails at once while its dependency's circuit is open, so a registry or store that is down or
// hung costs a model refresh a few milliseconds instead of stalling it. Errors that are answers
// (no such model, checksum mismatch) are neutral: the dependency is up.
import { isPermanentDbError } from '../db/errors.ts';
import { MlflowError, RegistryConflictError, RegistryNotFoundError, type ModelRegistry } from '../registry/index.ts';
import { ArtifactCorruptError, ArtifactExistsError, ArtifactNotFoundError, InvalidArtifactKeyError } from '../storage/errors.ts';
import type { ArtifactStore } from '../storage/index.ts';
import type { CircuitBreaker } from './breaker.ts';

/** Registry errors that are answers about the request, not about the registry's health. */
export function isNeutralRegistryError(err: unknown): boolean {
  return (
    err instanceof RegistryNotFoundError ||
    err instanceof RegistryConflictError ||
    (err instanceof MlflowError && err.status < 500) ||
    isPermanentDbError(err)
  );
}

/** Store errors that are answers about one object, not about the store's health. */
export function isNeutralStoreError(err: unknown): boolean {
  return (
    err instanceof ArtifactNotFoundError ||
    err instanceof ArtifactCorruptError ||
    err instanceof InvalidArtifactKeyError ||
    err instanceof ArtifactExistsError
  );
}

export function guardRegistry(registry: ModelRegistry, breaker: CircuitBreaker): ModelRegistry {
  return {
    kind: registry.kind,
    createModel: (name, description) => breaker.run(() => registry.createModel(name, description)),
    getModel: (name) => breaker.run(() => registry.getModel(name)),
    listModels: () => breaker.run(() => registry.listModels()),
    createVersion: (input) => breaker.run(() => registry.createVersion(input)),
    getVersion: (model, version) => breaker.run(() => registry.getVersion(model, version)),
    searchVersions: (model, filter) => breaker.run(() => registry.searchVersions(model, filter)),
    setVersionTag: (model, version, key, value) => breaker.run(() => registry.setVersionTag(model, version, key, value)),
    setAlias: (model, alias, version, by) => breaker.run(() => registry.setAlias(model, alias, version, by)),
    getAlias: (model, alias) => breaker.run(() => registry.getAlias(model, alias)),
    deleteAlias: (model, alias, by) => breaker.run(() => registry.deleteAlias(model, alias, by)),
    aliasHistory: (model, alias) => breaker.run(() => registry.aliasHistory(model, alias)),
    rollback: (model, by, alias) => breaker.run(() => registry.rollback(model, by, alias)),
    recordApproval: (record) => breaker.run(() => registry.recordApproval(record)),
    approvals: (model, version) => breaker.run(() => registry.approvals(model, version)),
  };
}

/**
 * Reads and writes get the breaker's deadline, and the store's own I/O is aborted there (the
 * signal is passed on). `list` is passed through: an iteration has no single deadline.
 */
export function guardStore(store: ArtifactStore, breaker: CircuitBreaker): ArtifactStore {
  const withSignal = <O extends { signal?: AbortSignal }>(options: O | undefined, signal: AbortSignal): O =>
    ({ ...options, signal: options?.signal ? AbortSignal.any([options.signal, signal]) : signal }) as O;
  return {
    baseUri: store.baseUri,
    uriFor: (key) => store.uriFor(key),
    keyFor: (uri) => store.keyFor(uri),
    put: (key, body, options) => breaker.run((signal) => store.put(key, body, withSignal(options, signal))),
    putStream: (key, body, options) => breaker.run((signal) => store.putStream(key, body, withSignal(options, signal))),
    putOnce: (key, body, options) => breaker.run((signal) => store.putOnce(key, body, withSignal(options, signal))),
    get: (key, options) => breaker.run((signal) => store.get(key, withSignal(options, signal))),
    getStream: (key, options) => breaker.run((signal) => store.getStream(key, withSignal(options, signal))),
    stat: (key) => breaker.run(() => store.stat(key)),
    exists: (key) => breaker.run(() => store.exists(key)),
    list: (prefix) => store.list(prefix),
    delete: (key) => breaker.run(() => store.delete(key)),
  };
}
