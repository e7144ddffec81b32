// bench:serving's method in numbers: run lengths, the capacity search, quieting and workload
// sizes, each smaller under --quick (a smoke test).
import { isQuick } from '../lib.ts';

export const quick = isQuick();
export const rounds = quick ? 1 : 5;
export const P99_LIMIT_MS = 20;
/** Per variant, before any measurement: a closed-loop warm-up (JIT, ORT arenas, connections),
 * then a closed-loop run whose throughput T scales that variant's offered rates. */
export const warmMs = quick ? 300 : 1000;
export const closedMs = quick ? 300 : 700;
/** One open-loop run at a fixed offered rate. */
export const openMs = quick ? 300 : 500;
export const CLOSED_CONNECTIONS = 64;
/** Open loop: connections are opened as needed up to this; past it requests wait (and it shows). */
export const MAX_CONNECTIONS = 512;
/** Capacity search in fractions of T: from the last round's result (FIRST_GUESS in the first),
 * steps of STEP up while the SLO holds (down while it fails, each twice the last), then bisection
 * to RESOLUTION. */
export const FIRST_GUESS = 0.8;
export const STEP = quick ? 0.2 : 0.05;
export const MAX_FRACTION = 1.5;
export const MIN_FRACTION = 0.02;
/** The search stops when pass and fail are this close (in fractions of T). */
export const RESOLUTION = STEP / 2;
/** Open-loop runs one search may take, repeats included (it stops with what it has). */
export const MAX_RUNS = quick ? 4 : 8;
/** Other processes on this shared machine using more CPU than this (in cores) during a run make
 * it noisy; after a noisy run the bench waits for a quiet moment (QUIET_BUDGET_MS in all) before
 * the next. */
export const NOISY_CPU = 0.25;
export const QUIET_BUDGET_MS = quick ? 5_000 : 90_000;
export const QUIET_PROBE_MS = 250;
/** After an open-loop run, let both processes finish its aftermath (closing sockets, GC). */
export const settleMs = quick ? 50 : 150;
/** Closed-loop load on a variant right before it is measured (see focus). */
export const pulseMs = quick ? 200 : 300;
/** B3's p99 comparison: runs per variant per round (the round's value is their median p99). */
export const FIXED_RATE_RUNS = quick ? 1 : 3;
export const IDLE_RPS = 50;
export const idleMs = quick ? 400 : 1000;
export const b2Ms = quick ? 200 : 500;
export const b2Warmups = quick ? 0 : 1;
export const B2_CALLERS = 256;
export const canaryTarget = quick ? 5_000 : 200_000;
export const CANARY_WEIGHT = 0.1;
export const keyCount = quick ? 5_000 : 50_000;
export const sampleRows = quick ? 2_000 : 20_000;
/** Inputs of the ~80%-hit stream: Zipf over this many hot inputs, plus 20% never seen before. */
export const hotRows = quick ? 200 : 2_000;
export const HIT_SHARE = 0.8;
export const SERVER_CPU = '0';
export const LOADGEN_CPU = '1';
