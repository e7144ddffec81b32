// Canary analysis: the challenger against the champion on the same live traffic, read from the
// prediction log and its feedback, per task: binary online AUC and PSI of scores; multiclass
// online accuracy and PSI of the predicted classes; regression online RMSE and PSI of the values.
// `readArmStats` queries one arm; `judgeStep` is the pure decision (unit-tested), so the same
// numbers always give the same verdict.
import { rocAuc } from '../evaluation/auc.ts';
import { alignCategories, psi } from '../data/drift/distances.ts';
import type { Queryable } from '../db/index.ts';
import { feedbackLabelFilter } from '../tasks/feedback-labels.ts';
import type { TaskKind } from '../tasks/task.ts';

/** The spec's `rollout.analysis` section, durations already in milliseconds where needed. */
export interface AnalysisCriteria {
  minSamples: number;
  maxErrorRateIncrease: number;
  maxP99Ratio: number;
  p99FloorMs: number;
  maxPredictionShift: number;
  minLabels: number;
  /** Binary: the most the challenger's online AUC may be below the champion's; multiclass: its
   * online accuracy, unless `maxAccuracyDrop` is set. */
  maxAucDrop: number;
  /** Multiclass: the most the challenger's online accuracy may be below the champion's.
   * @default maxAucDrop */
  maxAccuracyDrop?: number;
  /** Regression: the challenger's online RMSE may be at most (1 + this) × the champion's.
   * @default DEFAULT_MAX_RMSE_INCREASE */
  maxRmseIncrease?: number;
}

/** Regression: a challenger 10% worse in RMSE than the champion on the same traffic fails. */
export const DEFAULT_MAX_RMSE_INCREASE = 0.1;

/** Score histogram bins on [0, 1]: wide enough that a few hundred samples fill them. */
export const SCORE_BINS = 10;

/** Labelled rows read per arm at most; enough for a stable AUC, bounded memory. */
const MAX_LABELLED_ROWS = 50_000;

export interface ArmStats {
  version: number;
  shadow: boolean;
  /** Logged predictions in the window (one per instance). */
  samples: number;
  /** Predictions the model failed to produce (logged as NaN). */
  errors: number;
  errorRate: number;
  p99LatencyMs: number | null;
  /** Counts per score bin, `SCORE_BINS` of them over [0, 1] (multiclass: the probability of the
   * predicted class); regression: per value bin between `valueEdges`. */
  scoreHistogram: number[];
  labels: number;
  /** Labelled predictions whose label is positive (binary). */
  positives: number;
  auc: number | null;
  /** The served model's task; absent: binary (stats from before tasks). */
  task?: TaskKind;
  /** Multiclass: predictions per predicted class. */
  classCounts?: Record<string, number>;
  /** Multiclass: labelled predictions of the true class, and their share. */
  correct?: number;
  accuracy?: number | null;
  /** Regression: online root mean squared error and the standard error of the mean squared error. */
  rmse?: number | null;
  mseStdError?: number | null;
  /** Regression: the inner bin edges `scoreHistogram` counts between (the champion's deciles). */
  valueEdges?: number[];
}

export interface ArmReadOptions {
  /** @default 'binary' */
  task?: TaskKind;
  /** Regression: inner bin edges shared by both arms (`readValueEdges` of the champion). */
  valueEdges?: readonly number[];
}

export interface ArmQuery {
  model: string;
  version: number;
  shadow: boolean;
  /** ISO timestamps; the window is [since, until). */
  since: string;
  until: string;
}

const whereOf = (t: string) =>
  `${t}model = $1 AND ${t}model_version = $2 AND ${t}shadow = $3 AND ${t}created_at >= $4 AND ${t}created_at < $5`;
const paramsOf = (q: ArmQuery) => [q.model, q.version, q.shadow, q.since, q.until];

/** Regression: inner edges of ten equal-mass value bins of one arm (the champion), so PSI compares
 * both arms on bins that the champion fills evenly; [] without predictions. */
export async function readValueEdges(db: Queryable, q: ArmQuery): Promise<number[]> {
  const { rows } = await db.query<{ q: number[] | null }>(
    `SELECT percentile_cont(ARRAY[${Array.from({ length: SCORE_BINS - 1 }, (_, i) => (i + 1) / SCORE_BINS).join(', ')}])
       WITHIN GROUP (ORDER BY output) AS q
       FROM prediction_log WHERE ${whereOf('')} AND output NOT IN ('NaN', 'Infinity', '-Infinity')`,
    paramsOf(q),
  );
  const edges = (rows[0]?.q ?? []).map(Number).filter(Number.isFinite);
  return [...new Set(edges)].sort((a, b) => a - b);
}

interface Labelled {
  labels: number;
  positives: number;
  auc: number | null;
  correct?: number;
  accuracy?: number | null;
  rmse?: number | null;
  mseStdError?: number | null;
}

/** The arm's online quality from feedback that can be attributed (posted by a key) and is a
 * label of the task: binary 0/1, a multiclass class name, a finite regression value. */
async function readLabelled(db: Queryable, q: ArmQuery, task: TaskKind): Promise<Labelled> {
  const from = `FROM prediction_log p JOIN prediction_feedback f USING (request_id, instance)
        WHERE ${whereOf('p.')} AND p.output <> 'NaN' AND f.key_id IS NOT NULL`;
  if (task === 'multiclass') {
    const { rows } = await db.query<{ n: number; correct: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE p.output_class = f.label_class)::int AS correct
         ${from} AND ${feedbackLabelFilter('multiclass')}`,
      paramsOf(q),
    );
    const { n = 0, correct = 0 } = rows[0] ?? {};
    return { labels: n, positives: 0, auc: null, correct, accuracy: n > 0 ? correct / n : null };
  }
  if (task === 'regression') {
    const { rows } = await db.query<{ n: number; s2: number | null; s4: number | null }>(
      `SELECT count(*)::int AS n, sum(power(p.output - f.label, 2)) AS s2, sum(power(p.output - f.label, 4)) AS s4
         ${from} AND ${feedbackLabelFilter('regression')}
           AND p.output NOT IN ('Infinity', '-Infinity')`,
      paramsOf(q),
    );
    const n = rows[0]?.n ?? 0;
    if (n === 0) return { labels: 0, positives: 0, auc: null, rmse: null, mseStdError: null };
    const mse = Number(rows[0]!.s2) / n;
    const variance = Math.max(Number(rows[0]!.s4) / n - mse * mse, 0);
    return { labels: n, positives: 0, auc: null, rmse: Math.sqrt(mse), mseStdError: Math.sqrt(variance / n) };
  }
  const labelled = await db.query<{ output: number; label: number }>(
    `SELECT p.output, f.label ${from} AND ${feedbackLabelFilter('binary')} LIMIT ${MAX_LABELLED_ROWS}`,
    paramsOf(q),
  );
  const scores = labelled.rows.map((r) => Number(r.output));
  const labels = labelled.rows.map((r) => (Number(r.label) > 0.5 ? 1 : 0));
  let auc: number | null = null;
  try {
    if (scores.length > 0) auc = rocAuc(scores, labels);
  } catch {
    auc = null; // one class only: AUC is undefined
  }
  return { labels: scores.length, positives: labels.reduce<number>((a, b) => a + b, 0), auc };
}

export async function readArmStats(db: Queryable, q: ArmQuery, options: ArmReadOptions = {}): Promise<ArmStats> {
  const task = options.task ?? 'binary';
  const where = whereOf('');
  const params = paramsOf(q);
  const edges = options.valueEdges ?? [];
  // Regression values have no fixed range: bins between the shared edges (width_bucket: 0 below
  // the first edge … edges.length from the last one on).
  const bin =
    task === 'regression'
      ? edges.length > 0
        ? `width_bucket(output, ARRAY[${edges.map((e) => `${e}::float8`).join(', ')}])`
        : '0'
      : `least(greatest(floor(output * ${SCORE_BINS}), 0), ${SCORE_BINS - 1})`;
  const [summary, bins, classes, labelled] = await Promise.all([
    db.query<{ samples: number; errors: number; p99: number | null }>(
      `SELECT count(*)::int AS samples,
              count(*) FILTER (WHERE output = 'NaN')::int AS errors,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
         FROM prediction_log WHERE ${where}`,
      params,
    ),
    db.query<{ bin: number; n: number }>(
      `SELECT ${bin}::int AS bin, count(*)::int AS n
         FROM prediction_log WHERE ${where} AND output NOT IN ('NaN', 'Infinity', '-Infinity') GROUP BY 1`,
      params,
    ),
    task === 'multiclass'
      ? db.query<{ c: string; n: number }>(
          `SELECT output_class AS c, count(*)::int AS n FROM prediction_log
            WHERE ${where} AND output <> 'NaN' AND output_class IS NOT NULL GROUP BY 1`,
          params,
        )
      : Promise.resolve(null),
    readLabelled(db, q, task),
  ]);
  const row = summary.rows[0] ?? { samples: 0, errors: 0, p99: null };
  const scoreHistogram = new Array<number>(task === 'regression' ? edges.length + 1 : SCORE_BINS).fill(0);
  for (const b of bins.rows) scoreHistogram[b.bin] = b.n;
  return {
    version: q.version,
    shadow: q.shadow,
    samples: row.samples,
    errors: row.errors,
    errorRate: row.samples > 0 ? row.errors / row.samples : 0,
    p99LatencyMs: row.p99 === null ? null : Number(row.p99),
    scoreHistogram,
    ...labelled,
    task,
    ...(classes ? { classCounts: Object.fromEntries(classes.rows.map((r) => [r.c, r.n])) } : {}),
    ...(task === 'regression' ? { valueEdges: [...edges] } : {}),
  };
}

export type CheckName = 'samples' | 'errorRate' | 'p99Latency' | 'predictionShift' | 'onlineAuc' | 'onlineAccuracy' | 'onlineRmse';

export interface Check {
  name: CheckName;
  /** null: not judged (too little data), which neither passes nor fails a step. */
  ok: boolean | null;
  detail: string;
}

export type Verdict = 'pass' | 'fail' | 'wait';

export interface StepJudgement {
  verdict: Verdict;
  checks: Check[];
  /** The failed checks' details, or why the step waits. */
  reasons: string[];
  predictionShift: number | null;
}

/** One-sided 95% normal quantile: a drop must clear the noise with that confidence. */
const Z_95 = 1.645;

/** Standard error of an AUC estimate (Hanley & McNeil, 1982) from its positive and negative counts. */
export function aucStandardError(auc: number, positives: number, negatives: number): number {
  if (positives === 0 || negatives === 0) return Infinity;
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives);
  return Math.sqrt(Math.max(variance, 0));
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | null): string => (x === null ? 'n/a' : `${x.toFixed(1)} ms`);

/** The task both arms serve (the challenger's when they differ). */
const taskOf = (champion: ArmStats, challenger: ArmStats): TaskKind => challenger.task ?? champion.task ?? 'binary';

/** PSI between the arms' prediction distributions — scores (binary), predicted classes
 * (multiclass), values on shared bins (regression) — pushed as a check; null when an arm has
 * none. */
function predictionShiftCheck(champion: ArmStats, challenger: ArmStats, c: AnalysisCriteria, checks: Check[]): number | null {
  const task = taskOf(champion, challenger);
  let ref: readonly number[] = champion.scoreHistogram;
  let cur: readonly number[] = challenger.scoreHistogram;
  let what = 'score distributions';
  if (task === 'multiclass') {
    const aligned = alignCategories(champion.classCounts ?? {}, challenger.classCounts ?? {});
    ref = aligned.ref;
    cur = aligned.cur;
    what = 'predicted-class distributions';
  } else if (task === 'regression') {
    // Histograms on different edges (or none) are not comparable.
    if (JSON.stringify(champion.valueEdges ?? []) !== JSON.stringify(challenger.valueEdges ?? [])) return null;
    what = `value distributions (${ref.length} bins on the champion's deciles)`;
  }
  if (!cur.some((n) => n > 0) || !ref.some((n) => n > 0)) return null;
  const shift = psi(ref, cur);
  checks.push({
    name: 'predictionShift',
    ok: shift <= c.maxPredictionShift,
    detail: `PSI of ${what} ${shift.toFixed(3)} (at most ${c.maxPredictionShift})`,
  });
  return shift;
}

function notJudged(name: CheckName, champion: ArmStats, challenger: ArmStats, c: AnalysisCriteria): Check {
  return {
    name,
    ok: null,
    detail: `not judged: ${challenger.labels}/${champion.labels} labelled predictions (need ${c.minLabels} per arm)`,
  };
}

/** The task's online quality from feedback: AUC (binary), accuracy (multiclass), RMSE
 * (regression). A difference fails only beyond its limit plus the sampling noise of the two
 * estimates (one-sided 95%); arms on the same requests (shadow, full canary) are correlated, so
 * this errs towards passing. */
function qualityCheck(champion: ArmStats, challenger: ArmStats, c: AnalysisCriteria): Check {
  const task = taskOf(champion, challenger);
  const enough = challenger.labels >= c.minLabels && champion.labels >= c.minLabels;
  const on = `on ${challenger.labels}/${champion.labels} labels`;
  if (task === 'multiclass') {
    const a = challenger.accuracy ?? null;
    const b = champion.accuracy ?? null;
    if (!enough || a === null || b === null) return notJudged('onlineAccuracy', champion, challenger, c);
    const se = Math.sqrt((a * (1 - a)) / challenger.labels + (b * (1 - b)) / champion.labels);
    const limit = c.maxAccuracyDrop ?? c.maxAucDrop;
    return {
      name: 'onlineAccuracy',
      ok: a >= b - (limit + Z_95 * se),
      detail: `online accuracy challenger ${a.toFixed(4)} vs champion ${b.toFixed(4)} ${on} (at most ${limit} + ${(Z_95 * se).toFixed(4)} noise lower)`,
    };
  }
  if (task === 'regression') {
    const a = challenger.rmse ?? null;
    const b = champion.rmse ?? null;
    if (!enough || a === null || b === null) return notJudged('onlineRmse', champion, challenger, c);
    const ratio = 1 + (c.maxRmseIncrease ?? DEFAULT_MAX_RMSE_INCREASE);
    // Delta method: se(RMSE) = se(MSE) / (2 RMSE).
    const seOf = (rmse: number, mseSe: number | null | undefined) => (rmse > 0 ? (mseSe ?? 0) / (2 * rmse) : 0);
    const noise = Z_95 * Math.hypot(seOf(a, challenger.mseStdError), ratio * seOf(b, champion.mseStdError));
    const allowed = ratio * b + noise;
    return {
      name: 'onlineRmse',
      ok: a <= allowed,
      detail: `online RMSE challenger ${a.toPrecision(4)} vs champion ${b.toPrecision(4)} ${on} (at most ${ratio.toFixed(2)}× + ${noise.toPrecision(3)} noise)`,
    };
  }
  if (!enough || challenger.auc === null || champion.auc === null) return notJudged('onlineAuc', champion, challenger, c);
  // A few hundred labels per arm move an AUC by several hundredths on their own.
  const se = Math.hypot(
    aucStandardError(challenger.auc, challenger.positives, challenger.labels - challenger.positives),
    aucStandardError(champion.auc, champion.positives, champion.labels - champion.positives),
  );
  const allowed = c.maxAucDrop + Z_95 * se;
  return {
    name: 'onlineAuc',
    ok: Number.isFinite(allowed) ? challenger.auc >= champion.auc - allowed : null,
    detail: `online AUC challenger ${challenger.auc.toFixed(4)} vs champion ${champion.auc.toFixed(4)} ${on} (at most ${c.maxAucDrop} + ${(Z_95 * se).toFixed(4)} noise lower)`,
  };
}

/**
 * Judges one step. Every check needs `minSamples` challenger predictions (the sample-size guard)
 * and at least that many champion ones to compare with; online quality (AUC, accuracy or RMSE by
 * task) also needs `minLabels` labels per arm and is otherwise not judged. Any failed check fails the step; all judged checks passing
 * with enough samples passes it; too few samples waits.
 */
export function judgeStep(champion: ArmStats, challenger: ArmStats, c: AnalysisCriteria): StepJudgement {
  const checks: Check[] = [];
  const enough = challenger.samples >= c.minSamples && champion.samples >= c.minSamples;
  checks.push({
    name: 'samples',
    ok: enough ? true : null,
    detail: `challenger ${challenger.samples}, champion ${champion.samples} predictions (need ${c.minSamples} each)`,
  });
  let shift: number | null = null;
  if (enough) {
    const errorIncrease = challenger.errorRate - champion.errorRate;
    checks.push({
      name: 'errorRate',
      ok: errorIncrease <= c.maxErrorRateIncrease,
      detail: `challenger ${pct(challenger.errorRate)} vs champion ${pct(champion.errorRate)} (at most +${pct(c.maxErrorRateIncrease)})`,
    });
    if (challenger.p99LatencyMs !== null && champion.p99LatencyMs !== null) {
      const limit = Math.max(c.p99FloorMs, c.maxP99Ratio * champion.p99LatencyMs);
      checks.push({
        name: 'p99Latency',
        ok: challenger.p99LatencyMs <= limit,
        detail: `challenger p99 ${ms(challenger.p99LatencyMs)} vs champion ${ms(champion.p99LatencyMs)} (limit ${ms(limit)}: ${c.maxP99Ratio}× or ${c.p99FloorMs} ms)`,
      });
    }
    shift = predictionShiftCheck(champion, challenger, c, checks);
  }
  checks.push(qualityCheck(champion, challenger, c));
  const failed = checks.filter((k) => k.ok === false);
  if (failed.length > 0) return { verdict: 'fail', checks, reasons: failed.map((k) => `${k.name}: ${k.detail}`), predictionShift: shift };
  if (!enough) return { verdict: 'wait', checks, reasons: [`samples: ${checks[0]!.detail}`], predictionShift: shift };
  return { verdict: 'pass', checks, reasons: [], predictionShift: shift };
}
