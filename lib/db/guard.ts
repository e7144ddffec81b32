// A Database whose every call runs under a circuit breaker (deadline + fail-fast while open), for
// processes that must stay responsive when the database is down or hung (the inference server).
import type { CircuitBreaker, RunOptions } from '../resilience/breaker.ts';
import type { Database, Queryable } from './types.ts';

/** `options.timeoutMs`: a deadline for this guard's calls other than the breaker's (the prediction
 * log's batch inserts share the database's breaker but may take longer than a lookup). */
export function guardDatabase(db: Database, breaker: CircuitBreaker, options: RunOptions = {}): Database {
  const guarded: Database = {
    kind: db.kind,
    query: (sql, params) => breaker.run(() => db.query(sql, params), options),
    exec: (sql) => breaker.run(() => db.exec(sql), options),
    copyFromCsv: (table, columns, csv) => breaker.run(() => db.copyFromCsv(table, columns, csv), options),
    // The whole transaction is one guarded call: statements inside it go to the open transaction.
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => breaker.run(() => db.transaction(fn), options),
    close: () => db.close(),
  };
  return guarded;
}
