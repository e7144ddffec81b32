// `flywheel traffic replay`: rows of a Parquet or CSV file (or, for the flights example, a month
// of its flights) sent to the inference server at a steady rate, with their true labels posted
// later as feedback (see lib/traffic/replay.ts).
import type { Command } from 'commander';
import { ConfigError, ENV_VARS } from '../../lib/config/index.ts';
import { MONTH_PATTERN } from '../../lib/data/flights.ts';
import { parseDurationMs } from '../../lib/time/duration.ts';
import { fetchModelInputs, replayTraffic, tableRows, type ReplayRow, type ReplayStats } from '../../lib/traffic/replay.ts';
import { monthFlights } from '../../examples/flights/traffic-source.ts';
import { say, table, warn } from '../output.ts';

function envVar<K extends 'FLYWHEEL_SERVE_PORT' | 'FLYWHEEL_API_KEY'>(name: K): unknown {
  const raw = process.env[name] || undefined;
  const parsed = ENV_VARS[name].schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const got = 'secret' in ENV_VARS[name] ? 'got a value (hidden: secret)' : `got ${JSON.stringify(raw)}`;
  throw new ConfigError([{ variable: name, message: `expected ${ENV_VARS[name].expected}; ${got}` }]);
}

function number(flag: string, value: string | undefined, ok: (n: number) => boolean, what: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!ok(n)) throw new Error(`${flag} must be ${what}, got ${JSON.stringify(value)}`);
  return n;
}

function counts(byReason: Record<string, number>): string {
  const entries = Object.entries(byReason);
  return entries.length ? ` (${entries.map(([k, v]) => `${k}: ${v}`).join(', ')})` : '';
}

function ms(value: number): string {
  return value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`;
}

function progressLine(s: ReplayStats): string {
  const f = s.feedback;
  return `[${Math.round(s.elapsedMs / 1000)}s] ${s.sent.toLocaleString('en-US')} sent (${s.rate.toFixed(1)}/s), ${s.ok.toLocaleString('en-US')} ok, ${s.failed} failed${counts(s.failures)}, p50 ${ms(s.latencyMs.p50)}, p99 ${ms(s.latencyMs.p99)}; labels ${f.posted.toLocaleString('en-US')} posted, ${f.pending.toLocaleString('en-US')} pending, ${f.failed} failed`;
}

interface ReplayOpts {
  month?: string;
  file?: string;
  label?: string;
  keyColumn?: string;
  orderBy?: string;
  rate: string;
  model: string;
  url?: string;
  key?: string;
  limit?: string;
  sample?: string;
  batch?: string;
  feedbackDelay: string;
  feedbackShare: string;
  concurrency?: string;
}

export function registerTrafficCommands(program: Command): void {
  const traffic = program.command('traffic').description('realistic traffic for the inference server');

  traffic
    .command('replay')
    .description(
      'send rows of a table (--file, --label) or a month of the flights example (--month) as prediction requests, in order at a steady rate, and post their true labels later as feedback',
    )
    .option('--file <path>', "a Parquet or CSV file holding the served model's input columns and a label column")
    .option('--label <column>', 'with --file: the column holding the true outcome')
    .option('--key-column <column>', 'with --file: the column routing keys come from (default: the row number)')
    .option('--order-by <column>', "with --file: replay in this column's order, e.g. the time column (default: file order)")
    .option('--month <month>', 'the flights example instead of a file: the month of flights to replay, YYYY-MM (2001-01 … 2001-06)')
    .requiredOption('--rate <rps>', 'prediction requests per second')
    .option('--model <name>', 'served model to call (default with --month: flights-delay)')
    .option('--url <url>', 'inference server (default: http://127.0.0.1:FLYWHEEL_SERVE_PORT, port 8080)')
    .option('--key <key>', 'API key with the predict scope (default: FLYWHEEL_API_KEY)')
    .option('--limit <n>', 'send at most this many rows (the first)')
    .option('--sample <n>', 'replay a seeded random sample of n rows, still in order (time-compressed traffic that spans the source)')
    .option('--batch <n>', 'rows per request', '1')
    .option('--feedback-delay <duration>', 'post each label this long after its prediction (30s, 500ms, 2m)', '30s')
    .option('--feedback-share <0..1>', 'share of rows whose label is posted', '1')
    .option('--concurrency <n>', 'requests in flight at most (predictions and labels)', '64')
    .action(async (opts: ReplayOpts) => {
      if ((opts.month === undefined) === (opts.file === undefined))
        throw new Error('name what to replay: --file <path> --label <column>, or --month YYYY-MM');
      if (opts.month !== undefined && !MONTH_PATTERN.test(opts.month))
        throw new Error(`--month must be YYYY-MM, got ${JSON.stringify(opts.month)}`);
      if (opts.file !== undefined && opts.label === undefined) throw new Error('--file needs --label <column> (the true outcome)');
      if (opts.file === undefined && (opts.label ?? opts.keyColumn ?? opts.orderBy) !== undefined)
        throw new Error('--label, --key-column and --order-by go with --file');
      const model = opts.model ?? (opts.month !== undefined ? 'flights-delay' : undefined);
      if (model === undefined) throw new Error('--model <name>: the served model to call');
      const rate = number('--rate', opts.rate, (n) => Number.isFinite(n) && n > 0, 'a positive number of requests per second')!;
      const limit = number('--limit', opts.limit, (n) => Number.isInteger(n) && n >= 0, 'an integer ≥ 0');
      const sample = number('--sample', opts.sample, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
      const batch = number('--batch', opts.batch, (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!;
      const share = number('--feedback-share', opts.feedbackShare, (n) => n >= 0 && n <= 1, 'between 0 and 1')!;
      const maxInFlight = number('--concurrency', opts.concurrency, (n) => Number.isInteger(n) && n >= 1, 'a positive integer')!;
      let feedbackDelayMs: number;
      try {
        feedbackDelayMs = parseDurationMs(opts.feedbackDelay, { bareUnit: 's' });
      } catch (err) {
        throw new Error(`--feedback-delay: ${(err as Error).message}`);
      }
      const url = opts.url ?? `http://127.0.0.1:${envVar('FLYWHEEL_SERVE_PORT') as number}`;
      const apiKey = opts.key ?? (envVar('FLYWHEEL_API_KEY') as string | undefined);

      // First Ctrl-C: no new requests, labels still posted when due. Second: abandon them.
      const stop = new AbortController();
      const abort = new AbortController();
      const onSigint = () => {
        if (!stop.signal.aborted) {
          stop.abort();
          warn('stopping: no new requests; labels already owed are posted when due (Ctrl-C again to abandon them)');
        } else abort.abort();
      };
      process.on('SIGINT', onSigint);
      const source = opts.month ?? opts.file!;
      const picked = { ...(limit !== undefined ? { limit } : {}), ...(sample !== undefined ? { sample } : {}), signal: abort.signal };
      let rows: AsyncIterable<ReplayRow>;
      if (opts.month !== undefined) rows = monthFlights(opts.month, picked);
      else {
        // The columns to send are the served model's, as the server describes them.
        const inputs = await fetchModelInputs(url, model, apiKey, abort.signal);
        rows = tableRows(opts.file!, {
          inputs,
          label: opts.label!,
          ...(opts.keyColumn !== undefined ? { key: opts.keyColumn } : {}),
          ...(opts.orderBy !== undefined ? { orderBy: opts.orderBy } : {}),
          ...picked,
        });
      }
      say(
        `Replaying ${source} against ${url} (model ${model}) at ${rate} requests/s × ${batch} row${batch === 1 ? '' : 's'}; labels after ${feedbackDelayMs / 1000}s for ${Math.round(share * 100)}% of rows`,
      );
      let stats: ReplayStats;
      try {
        stats = await replayTraffic({
          baseUrl: url,
          model,
          ...(apiKey ? { apiKey } : {}),
          source,
          rows,
          rate,
          ...(limit !== undefined ? { limit } : {}),
          batch,
          feedbackDelayMs,
          feedbackShare: share,
          maxInFlight,
          onProgress: (s) => say(progressLine(s)),
          signal: abort.signal,
          stopSignal: stop.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
      const f = stats.feedback;
      say(stats.stopped ? 'Stopped early.' : 'Done.');
      say(
        table([
          ['instances', stats.instances.toLocaleString('en-US')],
          [
            'requests',
            `${stats.sent.toLocaleString('en-US')} sent at ${stats.rate.toFixed(1)}/s, ${stats.ok.toLocaleString('en-US')} ok, ${stats.failed} failed${counts(stats.failures)}${stats.cancelled ? `, ${stats.cancelled} cancelled` : ''}`,
          ],
          ['latency', `p50 ${ms(stats.latencyMs.p50)}, p99 ${ms(stats.latencyMs.p99)}, max ${ms(stats.latencyMs.max)}`],
          [
            'labels',
            `${f.posted.toLocaleString('en-US')} posted, ${f.failed} failed${counts(f.failures)}, ${f.skipped.toLocaleString('en-US')} left out by --feedback-share, ${f.abandoned} abandoned`,
          ],
          ['elapsed', `${(stats.elapsedMs / 1000).toFixed(1)}s`],
        ]),
      );
      if (stats.sent > 0 && stats.ok === 0) process.exitCode = 1;
    });
}
