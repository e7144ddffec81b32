// Registers Flywheel's search attributes on a Temporal server (idempotent). Workers and the CLI
// call it at start so a fresh cluster or dev server needs no manual step.
import type { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_LIST } from './search-attributes.ts';

/** temporal.api.enums.v1.IndexedValueType, by the SDK's SearchAttributeType names. */
const INDEXED_TYPE = { TEXT: 1, KEYWORD: 2, INT: 3, DOUBLE: 4, BOOL: 5, DATETIME: 6, KEYWORD_LIST: 7 } as const;
/** gRPC status ALREADY_EXISTS. */
const ALREADY_EXISTS = 6;

/** Works with a client `Connection` and a worker `NativeConnection` alike. */
export async function ensureSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const have = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = SEARCH_ATTRIBUTE_LIST.filter((k) => !have.has(k.name));
  if (missing.length === 0) return [];
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_TYPE[k.type as keyof typeof INDEXED_TYPE]])),
    });
  } catch (err) {
    // Another process registered them between our list and add.
    if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
  }
  return missing.map((k) => k.name);
}
