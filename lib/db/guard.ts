// A Database whose every call runs under a circuit breaker (deadline + fail-fast while open), for
// processes that must stay responsive when the database is down or hung (the inference server).
import type { CircuitBreaker } from '../resilience/breaker.ts';
import type { Database, Queryable } from './types.ts';

export function guardDatabase(db: Database, breaker: CircuitBreaker): Database {
  const guarded: Database = {
    kind: db.kind,
    query: (sql, params) => breaker.run(() => db.query(sql, params)),
    exec: (sql) => breaker.run(() => db.exec(sql)),
    copyFromCsv: (table, columns, csv) => breaker.run(() => db.copyFromCsv(table, columns, csv)),
    // The whole transaction is one guarded call: statements inside it go to the open transaction.
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => breaker.run(() => db.transaction(fn)),
    close: () => db.close(),
  };
  return guarded;
}
