// Traffic replay: rows of a table sent to the inference server as prediction requests in the
// order they happened at a steady rate, and each row's true label posted as feedback a fixed
// delay later (delayed labels), so rollouts and drift monitoring see realistic traffic. Any model,
// any task: a row is an instance of the model's input columns, a routing key and a label.
import { unitHash } from '../hash.ts';
import { sleep } from '../time/sleep.ts';
import { TrafficReplayError } from './errors.ts';
import { LabelQueue, type PendingLabel } from './label-queue.ts';
import { LatencyHistogram } from './latency.ts';
import { SlotLimiter } from './limiter.ts';
import type { ReplayInput, ReplayRow } from './source.ts';

export { TrafficReplayError, type TrafficReplayErrorCode } from './errors.ts';
export type { ReplayInput, ReplayRow } from './source.ts';
export { tableRows, type TableRowsOptions } from './table-source.ts';

export interface ReplayTrafficOptions {
  /** The inference server, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** The served model to call. */
  model: string;
  /** An API key with the `predict` and `feedback` scopes (predictions and labels); unset when
   * the server runs without auth. */
  apiKey?: string;
  /** What is replayed, for stats and messages (a month, a file name). */
  source: string;
  /** The rows to send, in the order given (tableRows, the flights example's monthFlights, a test's). */
  rows: AsyncIterable<ReplayRow>;
  /** Prediction requests per second (each carries `batch` rows). */
  rate: number;
  /** Send at most this many rows (the first ones). @default every row */
  limit?: number;
  /** Rows per prediction request. @default 1 */
  batch?: number;
  /** How long after its prediction a row's true label is posted. @default 30_000 */
  feedbackDelayMs?: number;
  /** Share of predicted rows (0–1) whose label is posted; which ones is fixed by the row's key,
   * so two replays label the same rows. @default 1 */
  feedbackShare?: number;
  /** HTTP requests (predictions and feedback) in flight at once; past it the pacer waits rather
   * than piling up on a slow server. @default 64 */
  maxInFlight?: number;
  /** A request unanswered after this counts as failed (`timeout`). @default 10_000 */
  requestTimeoutMs?: number;
  /** Check the server, key and model before sending (throws `TrafficReplayError`). @default true */
  preflight?: boolean;
  /** How often `onProgress` is called. @default 5000 */
  progressIntervalMs?: number;
  onProgress?: (stats: ReplayStats) => void;
  /** Stops at once: no new requests, in-flight ones are cancelled, pending labels abandoned. */
  signal?: AbortSignal;
  /** Stops sending predictions; labels already due are still posted at their time. */
  stopSignal?: AbortSignal;
}

export interface ReplayStats {
  model: string;
  /** What was replayed (`source`). */
  source: string;
  /** Rows sent in prediction requests. */
  instances: number;
  /** Prediction requests sent. */
  sent: number;
  ok: number;
  failed: number;
  /** Failed prediction requests by HTTP status (`"503"`), `timeout` or `network`. */
  failures: Record<string, number>;
  /** Prediction requests cancelled by `signal` (neither ok nor failed). */
  cancelled: number;
  inFlight: number;
  /** Latency of successful prediction requests. */
  latencyMs: { p50: number; p99: number; max: number };
  feedback: {
    /** Labels stored by the server. */
    posted: number;
    failed: number;
    /** Failed label posts by HTTP status, `timeout` or `network`. */
    failures: Record<string, number>;
    /** Labels waiting for their delay to pass. */
    pending: number;
    /** Predicted rows left out by `feedbackShare`. */
    skipped: number;
    /** Labels never posted because the replay was aborted. */
    abandoned: number;
  };
  elapsedMs: number;
  /** Prediction requests per second achieved while sending. */
  rate: number;
  /** True when `signal` or `stopSignal` ended the replay early. */
  stopped: boolean;
}

const FEEDBACK_RETRIES = 3;

function check(ok: boolean, message: string): void {
  if (!ok) throw new TrafficReplayError('invalid', message);
}

/** Why a request got no HTTP answer: its own timeout, or the connection. */
function failureReason(timedOut: boolean): string {
  return timedOut ? 'timeout' : 'network';
}

async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // Not JSON: the text itself says more than nothing.
  }
  return text.slice(0, 200) || res.statusText;
}

/** Checks that the server answers, accepts the key with the `predict` scope (and, when labels
 * are to be posted, the `feedback` scope), and serves `model`. */
export async function preflightReplay(baseUrl: string, model: string, apiKey?: string, signal?: AbortSignal, labels = true): Promise<void> {
  const url = `${baseUrl}/v1/models`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new TrafficReplayError(
      'unreachable',
      `cannot reach the inference server at ${baseUrl} (${cause?.code ?? cause?.message ?? (err as Error).message}); is \`flywheel serve\` running there?`,
      { cause: err },
    );
  }
  if (res.status === 401) {
    const detail = await errorMessage(res);
    throw new TrafficReplayError(
      'unauthorized',
      `the inference server at ${baseUrl} refused the API key (401: ${detail}); create one with \`flywheel keys create --name replay --scopes predict,feedback\` and pass it with --key or FLYWHEEL_API_KEY`,
    );
  }
  if (res.status === 403) {
    const detail = await errorMessage(res);
    throw new TrafficReplayError(
      'forbidden',
      `the API key lacks the "predict" scope that predictions need (403: ${detail}); create one with \`flywheel keys create --name replay --scopes predict,feedback\``,
    );
  }
  if (!res.ok) throw new TrafficReplayError('invalid', `GET ${url} answered ${res.status}: ${await errorMessage(res)}`);
  const body = (await res.json()) as { models?: Array<{ name: string }> };
  const served = (body.models ?? []).map((m) => m.name);
  if (!served.includes(model)) {
    throw new TrafficReplayError(
      'unknownModel',
      `the inference server at ${baseUrl} does not serve model "${model}" (404; served: ${served.length ? served.join(', ') : 'none'})`,
    );
  }
  if (labels && apiKey) {
    // An empty label is refused either way: 403 says the key may not post labels, 400 that it may.
    const probe = await fetch(`${baseUrl}/v1/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: '{}',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(10_000)]) : AbortSignal.timeout(10_000),
    });
    if (probe.status === 403) {
      throw new TrafficReplayError(
        'forbidden',
        `the API key lacks the "feedback" scope that labels need (403: ${await errorMessage(probe)}); create one with \`flywheel keys create --name replay --scopes predict,feedback\`, or post no labels (--feedback-share 0)`,
      );
    }
    await probe.arrayBuffer().catch(() => undefined);
  }
}

/** The input columns of the model the server serves (`GET /v1/models/{name}/schema`), so a table
 * source can select them; throws `TrafficReplayError` when the server cannot say. */
export async function fetchModelInputs(baseUrl: string, model: string, apiKey?: string, signal?: AbortSignal): Promise<ReplayInput[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/v1/models/${encodeURIComponent(model)}/schema`;
  const timeout = AbortSignal.timeout(10_000);
  let res: Response;
  try {
    res = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new TrafficReplayError('unreachable', `cannot reach the inference server at ${baseUrl}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (res.status === 404)
    throw new TrafficReplayError('unknownModel', `the inference server at ${baseUrl} does not serve model "${model}"`);
  if (!res.ok) throw new TrafficReplayError('invalid', `GET ${url} answered ${res.status}: ${await errorMessage(res)}`);
  const body = (await res.json()) as { inputs?: ReplayInput[] };
  if (!Array.isArray(body.inputs)) throw new TrafficReplayError('invalid', `GET ${url} did not list the model's inputs`);
  return body.inputs;
}

/** Replays rows against the server and returns what happened. Resolves once every label is
 * posted (or, after `signal` aborts, abandoned); throws `TrafficReplayError` on bad options or,
 * with `preflight`, an unreachable server, a refused key or an unknown model. */
export async function replayTraffic(options: ReplayTrafficOptions): Promise<ReplayStats> {
  const settings = resolveOptions(options);
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const abort = options.signal ?? new AbortController().signal;
  const stopSending = options.stopSignal ? AbortSignal.any([abort, options.stopSignal]) : abort;
  if (options.preflight ?? true) await preflightReplay(baseUrl, options.model, options.apiKey, abort, settings.feedbackShare > 0);

  const replay: Replay = {
    predictUrl: `${baseUrl}/v1/models/${encodeURIComponent(options.model)}/predict`,
    feedbackUrl: `${baseUrl}/v1/feedback`,
    model: options.model,
    headers: requestHeaders(options.apiKey),
    settings,
    abort,
    stats: emptyStats(options.model, options.source),
    latency: new LatencyHistogram(),
    labels: new LabelQueue(),
  };
  const limiter = new SlotLimiter(settings.maxInFlight);
  const pacer = createPacer(options.rate);
  const predictions = new Set<Promise<void>>();
  const startedAt = performance.now();
  let sendingEndedAt: number | undefined;
  const snapshot = () => snapshotStats(replay, predictions.size, startedAt, pacer.firstSentAt, sendingEndedAt);

  /** Sends `group` at its time in the schedule, once an in-flight slot is free. */
  async function send(group: ReplayRow[]): Promise<void> {
    const wait = pacer.untilNextMs();
    if (wait > 0) await sleep(wait, stopSending);
    if (stopSending.aborted || !(await limiter.acquire(stopSending))) return;
    pacer.sent();
    const request = sendBatch(replay, group).finally(() => {
      limiter.release();
      predictions.delete(request);
    });
    predictions.add(request);
  }

  async function sendAll(): Promise<void> {
    for await (const group of batches(options.rows, settings.batch, options.limit, stopSending)) await send(group);
  }

  const progress = options.onProgress ? setInterval(() => options.onProgress?.(snapshot()), options.progressIntervalMs ?? 5000) : undefined;
  progress?.unref();
  const labels = replay.labels
    .postWhenDue((label) => postLabel(replay, label), limiter, abort)
    .then((abandoned) => {
      replay.stats.feedback.abandoned += abandoned;
    });
  try {
    // An abort mid-read surfaces as the source's interruption; the stats still say what was done.
    await sendAll().catch((err: unknown) => {
      if (!abort.aborted) throw err;
    });
  } finally {
    sendingEndedAt = performance.now();
    await Promise.allSettled(predictions);
    replay.labels.close();
    await labels;
    if (progress) clearInterval(progress);
  }
  replay.stats.stopped = stopSending.aborted;
  return snapshot();
}

/** The options' defaults, filled in and checked. */
interface ReplaySettings {
  batch: number;
  feedbackDelayMs: number;
  feedbackShare: number;
  maxInFlight: number;
  requestTimeoutMs: number;
}

function resolveOptions(options: ReplayTrafficOptions): ReplaySettings {
  const batch = options.batch ?? 1;
  const feedbackDelayMs = options.feedbackDelayMs ?? 30_000;
  const feedbackShare = options.feedbackShare ?? 1;
  const maxInFlight = options.maxInFlight ?? 64;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  check(Number.isFinite(options.rate) && options.rate > 0, `rate must be a positive number of requests per second, got ${options.rate}`);
  check(Number.isInteger(batch) && batch >= 1, `batch must be a positive integer, got ${batch}`);
  check(
    options.limit === undefined || (Number.isInteger(options.limit) && options.limit >= 0),
    `limit must be an integer ≥ 0, got ${options.limit}`,
  );
  check(Number.isFinite(feedbackDelayMs) && feedbackDelayMs >= 0, `feedbackDelayMs must be ≥ 0, got ${feedbackDelayMs}`);
  check(feedbackShare >= 0 && feedbackShare <= 1, `feedbackShare must be between 0 and 1, got ${feedbackShare}`);
  check(Number.isInteger(maxInFlight) && maxInFlight >= 1, `maxInFlight must be a positive integer, got ${maxInFlight}`);
  return { batch, feedbackDelayMs, feedbackShare, maxInFlight, requestTimeoutMs };
}

/** What one replay's steps share: where and how to send, and what to count. */
interface Replay {
  predictUrl: string;
  feedbackUrl: string;
  /** Sent with each label, so the server checks it against the model's task. */
  model: string;
  headers: Record<string, string>;
  settings: ReplaySettings;
  /** `signal`, or one that never fires. */
  abort: AbortSignal;
  stats: ReplayStats;
  latency: LatencyHistogram;
  labels: LabelQueue;
}

function requestHeaders(apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

function emptyStats(model: string, source: string): ReplayStats {
  return {
    model,
    source,
    instances: 0,
    sent: 0,
    ok: 0,
    failed: 0,
    failures: {},
    cancelled: 0,
    inFlight: 0,
    latencyMs: { p50: 0, p99: 0, max: 0 },
    feedback: { posted: 0, failed: 0, failures: {}, pending: 0, skipped: 0, abandoned: 0 },
    elapsedMs: 0,
    rate: 0,
    stopped: false,
  };
}

function countFailure(failures: Record<string, number>, reason: string): void {
  failures[reason] = (failures[reason] ?? 0) + 1;
}

/** The stats as of now, copied (the caller may keep them while the replay goes on). */
function snapshotStats(
  replay: Replay,
  inFlight: number,
  startedAt: number,
  firstSentAt: number | undefined,
  sendingEndedAt: number | undefined,
): ReplayStats {
  const { stats, latency } = replay;
  const now = performance.now();
  // Reading the source takes a moment before the first request; the rate starts with that.
  const sendingMs = firstSentAt === undefined ? 0 : (sendingEndedAt ?? now) - firstSentAt;
  return {
    ...stats,
    failures: { ...stats.failures },
    inFlight,
    latencyMs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
    feedback: { ...stats.feedback, failures: { ...stats.feedback.failures }, pending: replay.labels.size },
    elapsedMs: now - startedAt,
    rate: sendingMs > 0 ? stats.sent / (sendingMs / 1000) : 0,
  };
}

/** `rows` in groups of `size` (the last may be smaller), at most `limit` rows in all, until
 * `stop` fires. */
async function* batches(
  rows: AsyncIterable<ReplayRow>,
  size: number,
  limit: number | undefined,
  stop: AbortSignal,
): AsyncGenerator<ReplayRow[]> {
  let group: ReplayRow[] = [];
  let taken = 0;
  for await (const row of rows) {
    if (stop.aborted || (limit !== undefined && taken >= limit)) break;
    taken++;
    group.push(row);
    if (group.length === size) {
      yield group;
      group = [];
    }
  }
  if (group.length > 0 && !stop.aborted) yield group;
}

/** Request times 1/rate apart, from the first request sent (not from when reading began). */
function createPacer(rate: number) {
  const intervalMs = 1000 / rate;
  // Timers fire late by a millisecond or so; a little catch-up keeps the average rate, while
  // a long stall (a full in-flight window) is never made up in a burst.
  const maxLagMs = Math.max(2 * intervalMs, 10);
  let nextAt = 0;
  let firstSentAt: number | undefined;
  return {
    get firstSentAt(): number | undefined {
      return firstSentAt;
    },
    /** How long until the next request is due (≤ 0: now). */
    untilNextMs(): number {
      return nextAt - performance.now();
    },
    /** A request went out now: schedules the next. */
    sent(): void {
      const now = performance.now();
      if (firstSentAt === undefined) {
        firstSentAt = now;
        nextAt = now;
      }
      nextAt = Math.max(nextAt + intervalMs, now - maxLagMs);
    },
  };
}

/** One prediction request for `rows`; when answered, their labels (those in the share) join
 * the label queue, due `feedbackDelayMs` from now. */
async function sendBatch(replay: Replay, rows: ReplayRow[]): Promise<void> {
  const { stats, settings, abort } = replay;
  stats.sent++;
  stats.instances += rows.length;
  const timeout = AbortSignal.timeout(settings.requestTimeoutMs);
  const t0 = performance.now();
  try {
    const res = await fetch(replay.predictUrl, {
      method: 'POST',
      headers: replay.headers,
      body: JSON.stringify({ instances: rows.map((r) => r.instance), routingKey: rows[0]!.key }),
      signal: AbortSignal.any([abort, timeout]),
    });
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      stats.failed++;
      countFailure(stats.failures, String(res.status));
      return;
    }
    const body = (await res.json()) as { requestId?: string };
    replay.latency.record(performance.now() - t0);
    stats.ok++;
    const requestId = body.requestId ?? res.headers.get('x-request-id');
    if (!requestId) return;
    const dueAt = performance.now() + settings.feedbackDelayMs;
    rows.forEach((r, instance) => {
      // FNV-1a of the row key: the same row is always in or out.
      if (unitHash(r.key) < settings.feedbackShare) replay.labels.push({ dueAt, requestId, instance, label: r.label });
      else stats.feedback.skipped++;
    });
    replay.labels.notify();
  } catch {
    if (abort.aborted) {
      stats.cancelled++;
      return;
    }
    stats.failed++;
    countFailure(stats.failures, failureReason(timeout.aborted));
  }
}

/** Posts one label; a shed or rate-limited post waits as told and is retried. */
async function postLabel(replay: Replay, item: PendingLabel): Promise<void> {
  const { stats, abort } = replay;
  const body = JSON.stringify({ requestId: item.requestId, instance: item.instance, label: item.label, model: replay.model });
  let reason = 'network';
  for (let attempt = 0; attempt <= FEEDBACK_RETRIES && !abort.aborted; attempt++) {
    const timeout = AbortSignal.timeout(replay.settings.requestTimeoutMs);
    try {
      const res = await fetch(replay.feedbackUrl, {
        method: 'POST',
        headers: replay.headers,
        body,
        signal: AbortSignal.any([abort, timeout]),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) {
        stats.feedback.posted++;
        return;
      }
      reason = String(res.status);
      // Shed or rate-limited: the label is still worth having, so wait as told and retry.
      if (res.status !== 429 && res.status !== 503) break;
      const retryAfterS = Number(res.headers.get('retry-after'));
      await sleep(Math.min(5000, Number.isFinite(retryAfterS) && retryAfterS > 0 ? retryAfterS * 1000 : 200 * 2 ** attempt), abort);
    } catch {
      if (abort.aborted) break;
      reason = failureReason(timeout.aborted);
      break;
    }
  }
  if (abort.aborted) {
    stats.feedback.abandoned++;
    return;
  }
  stats.feedback.failed++;
  countFailure(stats.feedback.failures, reason);
}
