// The demo's live traffic: one month's flights replayed in repeated passes until its phase ends.
import { monthFlights } from '../../examples/flights/traffic-source.ts';
import { replayTraffic, type ReplayStats } from '../../lib/traffic/replay.ts';

/** A running replay of one month's traffic, stopped when its phase ends. */
export interface Replay {
  month: string;
  stop(): Promise<ReplayStats>;
}

interface ReplayOptions {
  url: string;
  apiKey: string;
  model: string;
  month: string;
  rate: number;
  /** Flights per pass; the pass repeats until the phase ends. */
  sample: number;
  feedbackDelayMs: number;
  say: (l: string) => void;
}

export function startReplay(o: ReplayOptions): Replay {
  const stopSignal = new AbortController();
  const abort = new AbortController();
  let last = Date.now();
  const passes: ReplayStats[] = [];
  let current: ReplayStats | undefined;
  const total = (): ReplayStats => combine(o.month, [...passes, ...(current ? [current] : [])]);
  o.say(
    `Replaying ${o.month} traffic at ${o.rate} requests/s (${o.sample} flights sampled over the month, in scheduled order, repeated; labels ${o.feedbackDelayMs / 1000} s later)`,
  );
  const done = (async () => {
    while (!stopSignal.signal.aborted) {
      const stats = await replayTraffic({
        baseUrl: o.url,
        apiKey: o.apiKey,
        model: o.model,
        source: o.month,
        rows: monthFlights(o.month, { sample: o.sample, signal: abort.signal }),
        rate: o.rate,
        feedbackDelayMs: o.feedbackDelayMs,
        progressIntervalMs: 5000,
        onProgress: (s) => {
          current = s;
          if (Date.now() - last < 30_000) return;
          last = Date.now();
          const t = total();
          o.say(
            `  traffic ${o.month}: ${t.ok} answered, ${t.failed} failed, ${t.feedback.posted} labels, p50 ${t.latencyMs.p50.toFixed(1)} ms, p99 ${t.latencyMs.p99.toFixed(1)} ms`,
          );
        },
        stopSignal: stopSignal.signal,
        signal: abort.signal,
      });
      current = undefined;
      passes.push(stats);
    }
    return total();
  })();
  return {
    month: o.month,
    stop: async () => {
      stopSignal.abort();
      // Labels already owed are posted; then the replay ends.
      const timer = setTimeout(() => abort.abort(), o.feedbackDelayMs + 3000);
      try {
        return await done;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** One month's replay passes as one: counts added, latency quantiles the worst pass's. */
function combine(month: string, passes: ReplayStats[]): ReplayStats {
  const sum = (f: (s: ReplayStats) => number) => passes.reduce((a, s) => a + f(s), 0);
  const worst = (f: (s: ReplayStats) => number) => passes.reduce((a, s) => Math.max(a, f(s)), 0);
  const failures: Record<string, number> = {};
  for (const p of passes) for (const [k, v] of Object.entries(p.failures)) failures[k] = (failures[k] ?? 0) + v;
  const base = passes[0];
  return {
    ...(base ?? ({} as ReplayStats)),
    source: month,
    instances: sum((s) => s.instances),
    sent: sum((s) => s.sent),
    ok: sum((s) => s.ok),
    failed: sum((s) => s.failed),
    failures,
    cancelled: sum((s) => s.cancelled),
    latencyMs: { p50: worst((s) => s.latencyMs.p50), p99: worst((s) => s.latencyMs.p99), max: worst((s) => s.latencyMs.max) },
    feedback: {
      posted: sum((s) => s.feedback.posted),
      failed: sum((s) => s.feedback.failed),
      failures: {},
      pending: sum((s) => s.feedback.pending),
      skipped: sum((s) => s.feedback.skipped),
      abandoned: sum((s) => s.feedback.abandoned),
    },
    elapsedMs: sum((s) => s.elapsedMs),
  };
}
