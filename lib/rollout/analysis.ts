// Canary analysis: the challenger against the champion on the same live traffic, read from the
// prediction log and its feedback. `readArmStats` queries one arm; `judgeStep` is the pure
// decision (unit-tested), so the same numbers always give the same verdict.
import { rocAuc } from '../evaluation/auc.ts';
import { psi } from '../data/drift/distances.ts';
import type { Queryable } from '../db/index.ts';

/** The spec's `rollout.analysis` section, durations already in milliseconds where needed. */
export interface AnalysisCriteria {
  minSamples: number;
  maxErrorRateIncrease: number;
  maxP99Ratio: number;
  p99FloorMs: number;
  maxPredictionShift: number;
  minLabels: number;
  maxAucDrop: number;
}

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
  /** Counts per score bin, `SCORE_BINS` of them over [0, 1]. */
  scoreHistogram: number[];
  labels: number;
  /** Labelled predictions whose label is positive. */
  positives: number;
  auc: number | null;
}

export interface ArmQuery {
  model: string;
  version: number;
  shadow: boolean;
  /** ISO timestamps; the window is [since, until). */
  since: string;
  until: string;
}

export async function readArmStats(db: Queryable, q: ArmQuery): Promise<ArmStats> {
  const whereOf = (t: string) =>
    `${t}model = $1 AND ${t}model_version = $2 AND ${t}shadow = $3 AND ${t}created_at >= $4 AND ${t}created_at < $5`;
  const where = whereOf('');
  const params = [q.model, q.version, q.shadow, q.since, q.until];
  const [summary, bins, labelled] = await Promise.all([
    db.query<{ samples: number; errors: number; p99: number | null }>(
      `SELECT count(*)::int AS samples,
              count(*) FILTER (WHERE output = 'NaN')::int AS errors,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99
         FROM prediction_log WHERE ${where}`,
      params,
    ),
    db.query<{ bin: number; n: number }>(
      `SELECT least(greatest(floor(output * ${SCORE_BINS}), 0), ${SCORE_BINS - 1})::int AS bin, count(*)::int AS n
         FROM prediction_log WHERE ${where} AND output <> 'NaN' GROUP BY 1`,
      params,
    ),
    db.query<{ output: number; label: number }>(
      // Only labels that can be attributed (posted by a key) and are a class (0 or 1) count.
      `SELECT p.output, f.label FROM prediction_log p JOIN prediction_feedback f USING (request_id, instance)
        WHERE ${whereOf('p.')} AND p.output <> 'NaN' AND f.key_id IS NOT NULL AND f.label IN (0, 1)
        LIMIT ${MAX_LABELLED_ROWS}`,
      params,
    ),
  ]);
  const row = summary.rows[0] ?? { samples: 0, errors: 0, p99: null };
  const scoreHistogram = new Array<number>(SCORE_BINS).fill(0);
  for (const b of bins.rows) scoreHistogram[b.bin] = b.n;
  const scores = labelled.rows.map((r) => Number(r.output));
  const labels = labelled.rows.map((r) => (Number(r.label) > 0.5 ? 1 : 0));
  let auc: number | null = null;
  try {
    if (scores.length > 0) auc = rocAuc(scores, labels);
  } catch {
    auc = null; // one class only: AUC is undefined
  }
  return {
    version: q.version,
    shadow: q.shadow,
    samples: row.samples,
    errors: row.errors,
    errorRate: row.samples > 0 ? row.errors / row.samples : 0,
    p99LatencyMs: row.p99 === null ? null : Number(row.p99),
    scoreHistogram,
    labels: scores.length,
    positives: labels.reduce<number>((a, b) => a + b, 0),
    auc,
  };
}

export type CheckName = 'samples' | 'errorRate' | 'p99Latency' | 'predictionShift' | 'onlineAuc';

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

/**
 * Judges one step. Every check needs `minSamples` challenger predictions (the sample-size guard)
 * and at least that many champion ones to compare with; online AUC also needs `minLabels` labels
 * per arm and is otherwise not judged. Any failed check fails the step; all judged checks passing
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
    const scored = challenger.scoreHistogram.reduce((a, b) => a + b, 0);
    if (scored > 0 && champion.scoreHistogram.some((n) => n > 0)) {
      shift = psi(champion.scoreHistogram, challenger.scoreHistogram);
      checks.push({
        name: 'predictionShift',
        ok: shift <= c.maxPredictionShift,
        detail: `PSI of score distributions ${shift.toFixed(3)} (at most ${c.maxPredictionShift})`,
      });
    }
  }
  const labelled = challenger.labels >= c.minLabels && champion.labels >= c.minLabels && challenger.auc !== null && champion.auc !== null;
  if (labelled) {
    // A drop fails only beyond maxAucDrop plus the sampling noise of the two estimates (one-sided
    // 95%): a few hundred labels per arm move an AUC by several hundredths on their own. Arms on
    // the same requests (shadow, full canary) are correlated, so this errs towards passing.
    const se = Math.hypot(
      aucStandardError(challenger.auc!, challenger.positives, challenger.labels - challenger.positives),
      aucStandardError(champion.auc!, champion.positives, champion.labels - champion.positives),
    );
    const allowed = c.maxAucDrop + Z_95 * se;
    checks.push({
      name: 'onlineAuc',
      ok: Number.isFinite(allowed) ? challenger.auc! >= champion.auc! - allowed : null,
      detail: `online AUC challenger ${challenger.auc!.toFixed(4)} vs champion ${champion.auc!.toFixed(4)} on ${challenger.labels}/${champion.labels} labels (at most ${c.maxAucDrop} + ${(Z_95 * se).toFixed(4)} noise lower)`,
    });
  } else {
    checks.push({
      name: 'onlineAuc',
      ok: null,
      detail: `not judged: ${challenger.labels}/${champion.labels} labelled predictions (need ${c.minLabels} per arm)`,
    });
  }
  const failed = checks.filter((k) => k.ok === false);
  if (failed.length > 0) return { verdict: 'fail', checks, reasons: failed.map((k) => `${k.name}: ${k.detail}`), predictionShift: shift };
  if (!enough) return { verdict: 'wait', checks, reasons: [`samples: ${checks[0]!.detail}`], predictionShift: shift };
  return { verdict: 'pass', checks, reasons: [], predictionShift: shift };
}
