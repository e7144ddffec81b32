// The breakers of one process by dependency name ('database', 'registry', 'artifact-store',
// 'batch-layer'): one place that creates them, so every breaker reports its transitions and
// refusals the same way (to the metrics) and readiness can show them all.
import { CircuitBreaker, type BreakerSnapshot, type BreakerState, type CircuitBreakerOptions } from './breaker.ts';

export interface BreakerEvents {
  onStateChange?: (dependency: string, state: BreakerState) => void;
  onReject?: (dependency: string) => void;
}

/** A breaker's options in a registry: `name` (for error messages) defaults to the dependency. */
export type BreakerOptions = Omit<CircuitBreakerOptions, 'name' | 'onStateChange' | 'onReject'> & { name?: string };

export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(private readonly events: BreakerEvents = {}) {}

  /** A new breaker for `dependency`; a second breaker for the same name is a wiring mistake. */
  create(dependency: string, options: BreakerOptions = {}): CircuitBreaker {
    if (this.breakers.has(dependency)) throw new Error(`a breaker for ${JSON.stringify(dependency)} exists already`);
    const breaker = new CircuitBreaker({
      ...options,
      name: options.name ?? dependency,
      onStateChange: (state) => this.events.onStateChange?.(dependency, state),
      onReject: () => this.events.onReject?.(dependency),
    });
    this.breakers.set(dependency, breaker);
    return breaker;
  }

  get(dependency: string): CircuitBreaker | undefined {
    return this.breakers.get(dependency);
  }

  /** Every breaker's state, by dependency name. */
  snapshot(): Record<string, BreakerSnapshot> {
    return Object.fromEntries([...this.breakers].map(([name, b]) => [name, b.snapshot()]));
  }
}

/** The gauge value of a state: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const satisfies Record<BreakerState, number>;
