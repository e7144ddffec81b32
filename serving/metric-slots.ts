// Metrics on the per-request path without prom-client's per-call work (a labels object, label
// validation, a hash string of the labels, a lookup): a label set is bound once to a slot, and a
// request adds to the slot's plain numbers. A counter's slots are added to the prom-client counter
// when it is scraped (its `collect`); the latency histogram is a metric of its own that prom-client's
// registry reads like any other, in the same text format. What /metrics shows is unchanged.
import type { Counter, Registry } from 'prom-client';

export interface CounterSlot {
  inc(n?: number): void;
}

interface PendingSlot<L extends string> extends CounterSlot {
  labels: Record<L, string>;
  pending: number;
}

/** Increments of one counter held per label set until the next scrape. */
export class CounterSlots<L extends string> {
  private readonly slots = new Map<string, PendingSlot<L>>();

  constructor(private readonly labelNames: readonly L[]) {}

  /** The slot of one label set; callers keep it (finding it builds a key). */
  slot(labels: Record<L, string>): CounterSlot {
    const key = this.labelNames.map((n) => labels[n]).join('\u0000');
    let slot = this.slots.get(key);
    if (!slot) {
      const created: PendingSlot<L> = {
        labels: { ...labels },
        pending: 0,
        inc(n = 1) {
          created.pending += n;
        },
      };
      slot = created;
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** Moves what is pending into `counter` (from its `collect`, before it is read). */
  flushInto(counter: Counter<L>): void {
    for (const slot of this.slots.values()) {
      if (slot.pending === 0) continue;
      counter.inc(slot.labels, slot.pending);
      slot.pending = 0;
    }
  }
}

export interface HistogramSlot {
  observe(value: number): void;
}

interface HistogramData<L extends string> extends HistogramSlot {
  labels: Record<L, string>;
  /** Per upper bound (not cumulative); the last is above every bound (+Inf). */
  counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram whose label sets are bound once (`slot`), written like prom-client's
 * Histogram (`name_bucket{le=…,labels}` cumulative, `+Inf`, `name_sum`, `name_count`, label sets
 * in first-use order).
 */
export class SlotHistogram<L extends string> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly data = new Map<string, HistogramData<L>>();
  private readonly bounds: Float64Array;

  constructor(
    readonly config: {
      name: string;
      help: string;
      labelNames: readonly L[];
      buckets: readonly number[];
      registers: Registry[];
    },
  ) {
    this.bounds = Float64Array.from([...config.buckets].sort((a, b) => a - b));
    for (const registry of config.registers) registry.registerMetric(this as never);
  }

  get name(): string {
    return this.config.name;
  }

  get help(): string {
    return this.config.help;
  }

  /** The slot of one label set; callers keep it (finding it builds a key). */
  slot(labels: Record<L, string>): HistogramSlot {
    const key = this.config.labelNames.map((n) => labels[n]).join('\u0000');
    let slot = this.data.get(key);
    if (!slot) {
      const bounds = this.bounds;
      const created: HistogramData<L> = {
        labels: { ...labels },
        counts: new Float64Array(bounds.length + 1),
        sum: 0,
        count: 0,
        observe(value: number) {
          if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
          let b = 0;
          while (b < bounds.length && value > bounds[b]!) b++;
          created.counts[b]!++;
          created.sum += value;
          created.count++;
        },
      };
      slot = created;
      this.data.set(key, slot);
    }
    return slot;
  }

  /** Same as `slot(labels).observe(value)`. */
  observe(labels: Record<L, string>, value: number): void {
    this.slot(labels).observe(value);
  }

  /** prom-client's registry reads this (the shape of its own metrics' `get`). */
  get(): Promise<{
    name: string;
    help: string;
    type: 'histogram';
    aggregator: 'sum';
    values: { labels: Record<string, string | number>; value: number; metricName: string }[];
  }> {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    const bucket = `${this.name}_bucket`;
    for (const d of this.data.values()) {
      let acc = 0;
      for (let b = 0; b < this.bounds.length; b++) {
        acc += d.counts[b]!;
        values.push({ labels: { le: this.bounds[b]!, ...d.labels }, value: acc, metricName: bucket });
      }
      values.push({ labels: { le: '+Inf', ...d.labels }, value: d.count, metricName: bucket });
      values.push({ labels: { ...d.labels }, value: d.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...d.labels }, value: d.count, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  reset(): void {
    this.data.clear();
  }
}
