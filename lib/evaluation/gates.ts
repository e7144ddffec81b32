// Quality gates a candidate model must pass before it is registered for approval: declared per
// model, checked against its evaluation (and the champion's, when there is one), and reported
// with a one-line summary that reads well in the Temporal Web UI. Each task has its own gates
// (`qualityGatesSchema` for binary classifiers, then multiclass and regression); latency and size
// gates are shared, and a gate of another task is refused with an error naming it.
import { z } from 'zod';
import { describeTask, TASK_KINDS, type TaskKind } from '../tasks/task.ts';
import { sliceName, type BatchLatency, type EvaluationMetrics } from './evaluate.ts';
import {
  taskOfMetrics,
  type MulticlassEvaluationMetrics,
  type RegressionEvaluationMetrics,
  type TaskEvaluationMetrics,
} from './evaluate-tasks.ts';

const auc = z.number().min(0).max(1);

export const qualityGatesSchema = z
  .object({
    /** Candidate test AUC ≥ this. */
    minAuc: auc.optional(),
    /** ε: candidate AUC ≥ champion AUC − ε (may be slightly worse). Not with `minAucGainVsChampion`. */
    maxAucDropVsChampion: auc.optional(),
    /** δ: candidate AUC ≥ champion AUC + δ (must beat it). Not with `maxAucDropVsChampion`. */
    minAucGainVsChampion: auc.optional(),
    /** For every slice evaluated for both: candidate slice AUC ≥ champion slice AUC − this. */
    maxWorstSliceDrop: auc.optional(),
    /** p99 latency of a batch of one row, in milliseconds. */
    maxP99LatencyMs: z.number().positive().optional(),
    /** Size of the exported model file. */
    maxModelSizeBytes: z.number().int().positive().optional(),
  })
  .strict()
  .refine((g) => g.maxAucDropVsChampion === undefined || g.minAucGainVsChampion === undefined, {
    message: 'declare maxAucDropVsChampion or minAucGainVsChampion, not both',
  });

export type QualityGates = z.output<typeof qualityGatesSchema>;
export type GateName = keyof QualityGates;

export interface GateResult {
  /** The declared gate, e.g. `minAuc`. */
  name: AnyGateName;
  passed: boolean;
  /** Needs a champion and there is none; counted as passed. */
  skipped: boolean;
  /**
   * What the limit applies to: AUC (`minAuc`), AUC gain over the champion, negative for a drop
   * (champion gates), the largest slice AUC drop, p99 ms, or bytes. null when skipped or unmeasured.
   */
  observed: number | null;
  limit: number;
  message: string;
}

export interface GateReport {
  passed: boolean;
  /** e.g. `3/4 gates passed — failed: worst slice origin=ORD AUC 0.610 vs champion 0.680 (max drop 0.02)`. */
  summary: string;
  gates: GateResult[];
}

export interface GateCandidate {
  metrics: EvaluationMetrics;
  /** From `measureLatency`; a declared latency gate fails when batch size 1 is missing. */
  latency?: readonly BatchLatency[];
  /** A declared size gate fails when this is missing. */
  sizeBytes?: number;
}

export interface GateChampion {
  metrics: EvaluationMetrics;
}

const fmtAuc = (value: number): string => value.toFixed(3);

function result(name: AnyGateName, limit: number, observed: number | null, passed: boolean, message: string): GateResult {
  return { name, passed, skipped: false, observed, limit, message };
}

function skipped(name: AnyGateName, limit: number): GateResult {
  return { name, passed: true, skipped: true, observed: null, limit, message: `${name} skipped: no champion to compare with` };
}

/** The slice (present in both evaluations, with an AUC in both) whose AUC dropped the most. */
function largestSliceDrop(candidate: EvaluationMetrics, champion: EvaluationMetrics) {
  let worst: { family: string; slice: string; candidateAuc: number; championAuc: number; drop: number } | null = null;
  for (const [family, slices] of Object.entries(candidate.slices)) {
    const championSlices = new Map((champion.slices[family] ?? []).map((s) => [s.slice, s.auc]));
    for (const { slice, auc: candidateAuc } of slices) {
      const championAuc = championSlices.get(slice);
      if (candidateAuc === null || championAuc === null || championAuc === undefined) continue;
      const drop = championAuc - candidateAuc;
      if (worst === null || drop > worst.drop) worst = { family, slice, candidateAuc, championAuc, drop };
    }
  }
  return worst;
}

function checkOne(name: GateName, limit: number, candidate: GateCandidate, champion: GateChampion | undefined): GateResult {
  const candidateAuc = candidate.metrics.rocAuc;
  switch (name) {
    case 'minAuc': {
      const passed = candidateAuc >= limit;
      return result(name, limit, candidateAuc, passed, `AUC ${fmtAuc(candidateAuc)} ${passed ? '≥' : '<'} min ${limit}`);
    }
    case 'maxAucDropVsChampion':
    case 'minAucGainVsChampion': {
      if (!champion) return skipped(name, limit);
      const championAuc = champion.metrics.rocAuc;
      const floor = name === 'maxAucDropVsChampion' ? championAuc - limit : championAuc + limit;
      const passed = candidateAuc >= floor;
      const rule = name === 'maxAucDropVsChampion' ? `max drop ${limit}` : `min gain ${limit}`;
      return result(
        name,
        limit,
        candidateAuc - championAuc,
        passed,
        `AUC ${fmtAuc(candidateAuc)} vs champion ${fmtAuc(championAuc)} (${rule})`,
      );
    }
    case 'maxWorstSliceDrop': {
      if (!champion) return skipped(name, limit);
      const worst = largestSliceDrop(candidate.metrics, champion.metrics);
      if (!worst) return result(name, limit, null, true, 'no slice with an AUC in both candidate and champion');
      const passed = worst.drop <= limit;
      return result(
        name,
        limit,
        worst.drop,
        passed,
        `worst slice ${sliceName(worst)} AUC ${fmtAuc(worst.candidateAuc)} vs champion ${fmtAuc(worst.championAuc)} (max drop ${limit})`,
      );
    }
    case 'maxP99LatencyMs':
    case 'maxModelSizeBytes':
      return checkCost(name, limit, candidate);
  }
}

/** The gates every task shares: what serving the model costs. */
function checkCost(name: 'maxP99LatencyMs' | 'maxModelSizeBytes', limit: number, candidate: Omit<GateCandidate, 'metrics'>): GateResult {
  switch (name) {
    case 'maxP99LatencyMs': {
      const single = candidate.latency?.find((l) => l.batchSize === 1);
      if (!single) return result(name, limit, null, false, 'p99 latency not measured for batch size 1');
      const passed = single.p99Ms <= limit;
      return result(name, limit, single.p99Ms, passed, `p99 latency ${single.p99Ms.toFixed(2)} ms ${passed ? '≤' : '>'} max ${limit} ms`);
    }
    case 'maxModelSizeBytes': {
      const size = candidate.sizeBytes;
      if (size === undefined) return result(name, limit, null, false, 'model size not measured');
      const passed = size <= limit;
      const bytes = (n: number) => `${n.toLocaleString('en-US')} bytes`;
      return result(name, limit, size, passed, `model size ${bytes(size)} ${passed ? '≤' : '>'} max ${bytes(limit)}`);
    }
  }
}

/** Checks every declared gate; gates that compare with a champion are skipped without one. */
export function checkGates(gates: QualityGates, candidate: GateCandidate, champion?: GateChampion): GateReport {
  const results = (Object.keys(qualityGatesSchema.shape) as GateName[])
    .filter((name) => gates[name] !== undefined)
    .map((name) => checkOne(name, gates[name]!, candidate, champion));
  return summarize(results);
}

function summarize(results: GateResult[]): GateReport {
  const failed = results.filter((r) => !r.passed);
  const skippedCount = results.filter((r) => r.skipped).length;
  let summary = results.length === 0 ? 'no quality gates declared' : `${results.length - failed.length}/${results.length} gates passed`;
  if (skippedCount > 0) summary += ` (${skippedCount} skipped: no champion)`;
  if (failed.length > 0) summary += ` — failed: ${failed.map((r) => r.message).join('; ')}`;
  return { passed: failed.length === 0, summary, gates: results };
}

const cost = {
  /** p99 latency of a batch of one row, in milliseconds. */
  maxP99LatencyMs: z.number().positive().optional(),
  /** Size of the exported model file. */
  maxModelSizeBytes: z.number().int().positive().optional(),
};
const share = z.number().min(0).max(1);

const multiclassGateShape = {
  /** Candidate test accuracy ≥ this. */
  minAccuracy: share.optional(),
  /** Candidate test macro-F1 ≥ this. */
  minMacroF1: share.optional(),
  /** Candidate test log loss ≤ this. */
  maxLogLoss: z.number().positive().optional(),
  /** Candidate accuracy ≥ champion accuracy − this. */
  maxAccuracyDropVsChampion: share.optional(),
  /** Candidate macro-F1 ≥ champion macro-F1 − this. */
  maxMacroF1DropVsChampion: share.optional(),
  /** For every slice evaluated for both: candidate slice accuracy ≥ champion slice accuracy − this. */
  maxWorstSliceDrop: share.optional(),
  ...cost,
};

const regressionGateShape = {
  /** Candidate test RMSE ≤ this, in the target's units. */
  maxRmse: z.number().positive().optional(),
  /** Candidate test MAE ≤ this, in the target's units. */
  maxMae: z.number().positive().optional(),
  /** Candidate test R² ≥ this. */
  minR2: z.number().max(1).optional(),
  /** Relative: candidate RMSE ≤ champion RMSE × (1 + this); 0.05 allows 5% worse. */
  maxRmseIncreaseVsChampion: z.number().min(0).optional(),
  /** Relative, per slice evaluated for both: candidate slice RMSE ≤ champion slice RMSE × (1 + this). */
  maxWorstSliceRmseIncrease: z.number().min(0).optional(),
  ...cost,
};

const GATE_NAMES: Record<TaskKind, readonly string[]> = {
  binary: Object.keys(qualityGatesSchema.shape),
  multiclass: Object.keys(multiclassGateShape),
  regression: Object.keys(regressionGateShape),
};

/** `minAuc is a binary classification gate; a regression model's gates are maxRmse, …`. */
function wrongTaskMessage(kind: TaskKind, key: string): string {
  const owners = TASK_KINDS.filter((k) => k !== kind && GATE_NAMES[k].includes(key));
  const what = owners.length > 0 ? `${key} is a ${owners.map(describeTask).join(' and ')} gate` : `${key} is not a quality gate`;
  return `${what}; a ${describeTask(kind)} model's gates are ${GATE_NAMES[kind].join(', ')}`;
}

/** Refuses unknown keys with a message naming the gate and the task. */
function taskGates<S extends z.ZodRawShape>(kind: TaskKind, shape: S) {
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? issue.keys.map((k) => wrongTaskMessage(kind, k)).join('\n') : undefined),
  });
}

export const multiclassGatesSchema = taskGates('multiclass', multiclassGateShape);
export const regressionGatesSchema = taskGates('regression', regressionGateShape);
export type MulticlassGates = z.output<typeof multiclassGatesSchema>;
export type RegressionGates = z.output<typeof regressionGatesSchema>;
export type MulticlassGateName = keyof MulticlassGates;
export type RegressionGateName = keyof RegressionGates;
export type AnyGateName = GateName | MulticlassGateName | RegressionGateName;

/**
 * The gates schema for a task. The binary one is `qualityGatesSchema` behind a check that names a
 * gate of another task (a bare `qualityGatesSchema` still says `Unrecognized key`).
 */
export function qualityGatesSchemaFor(kind: TaskKind) {
  if (kind === 'multiclass') return multiclassGatesSchema;
  if (kind === 'regression') return regressionGatesSchema;
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (typeof value !== 'object' || value === null) return;
      for (const key of Object.keys(value)) {
        if (!GATE_NAMES.binary.includes(key)) ctx.addIssue({ code: 'custom', path: [key], message: wrongTaskMessage('binary', key) });
      }
    })
    .pipe(qualityGatesSchema);
}

export type TaskQualityGates = QualityGates | MulticlassGates | RegressionGates;

export interface TaskGateCandidate extends Omit<GateCandidate, 'metrics'> {
  metrics: TaskEvaluationMetrics;
}

export interface TaskGateChampion {
  metrics: TaskEvaluationMetrics;
}

const fmt = (value: number): string => value.toFixed(3);
const fmtValue = (value: number): string => String(Number(value.toPrecision(4)));

function atLeast(name: AnyGateName, what: string, observed: number, limit: number): GateResult {
  const passed = observed >= limit;
  return result(name, limit, observed, passed, `${what} ${fmt(observed)} ${passed ? '≥' : '<'} min ${limit}`);
}

function atMost(name: AnyGateName, what: string, observed: number, limit: number): GateResult {
  const passed = observed <= limit;
  return result(name, limit, observed, passed, `${what} ${fmtValue(observed)} ${passed ? '≤' : '>'} max ${limit}`);
}

function dropVsChampion(name: AnyGateName, what: string, candidate: number, champion: number, limit: number): GateResult {
  const passed = candidate >= champion - limit;
  return result(name, limit, candidate - champion, passed, `${what} ${fmt(candidate)} vs champion ${fmt(champion)} (max drop ${limit})`);
}

/** Relative increase: candidate / champion − 1 (0 when both are 0, Infinity when only the champion is). */
function relativeIncrease(candidate: number, champion: number): number {
  if (champion === 0) return candidate === 0 ? 0 : Infinity;
  return candidate / champion - 1;
}

function pairedSlices<T extends { slice: string }>(candidate: Record<string, T[]>, champion: Record<string, T[]>) {
  const pairs: { family: string; slice: string; candidate: T; champion: T }[] = [];
  for (const [family, slices] of Object.entries(candidate)) {
    const theirs = new Map((champion[family] ?? []).map((s) => [s.slice, s]));
    for (const ours of slices) {
      const match = theirs.get(ours.slice);
      if (match) pairs.push({ family, slice: ours.slice, candidate: ours, champion: match });
    }
  }
  return pairs;
}

function checkMulticlass(
  name: MulticlassGateName,
  limit: number,
  candidate: TaskGateCandidate & { metrics: MulticlassEvaluationMetrics },
  champion: MulticlassEvaluationMetrics | undefined,
): GateResult {
  const m = candidate.metrics;
  switch (name) {
    case 'minAccuracy':
      return atLeast(name, 'accuracy', m.accuracy, limit);
    case 'minMacroF1':
      return atLeast(name, 'macro-F1', m.macroF1, limit);
    case 'maxLogLoss':
      return atMost(name, 'log loss', m.logLoss, limit);
    case 'maxAccuracyDropVsChampion':
      return champion ? dropVsChampion(name, 'accuracy', m.accuracy, champion.accuracy, limit) : skipped(name, limit);
    case 'maxMacroF1DropVsChampion':
      return champion ? dropVsChampion(name, 'macro-F1', m.macroF1, champion.macroF1, limit) : skipped(name, limit);
    case 'maxWorstSliceDrop': {
      if (!champion) return skipped(name, limit);
      const pairs = pairedSlices(m.slices, champion.slices);
      if (pairs.length === 0) return result(name, limit, null, true, 'no slice evaluated for both candidate and champion');
      const drop = (p: (typeof pairs)[number]) => p.champion.accuracy - p.candidate.accuracy;
      const worst = pairs.reduce((a, b) => (drop(b) > drop(a) ? b : a));
      const passed = drop(worst) <= limit;
      return result(
        name,
        limit,
        drop(worst),
        passed,
        `worst slice ${sliceName(worst)} accuracy ${fmt(worst.candidate.accuracy)} vs champion ${fmt(worst.champion.accuracy)} (max drop ${limit})`,
      );
    }
    case 'maxP99LatencyMs':
    case 'maxModelSizeBytes':
      return checkCost(name, limit, candidate);
  }
}

function checkRegression(
  name: RegressionGateName,
  limit: number,
  candidate: TaskGateCandidate & { metrics: RegressionEvaluationMetrics },
  champion: RegressionEvaluationMetrics | undefined,
): GateResult {
  const m = candidate.metrics;
  switch (name) {
    case 'maxRmse':
      return atMost(name, 'RMSE', m.rmse, limit);
    case 'maxMae':
      return atMost(name, 'MAE', m.mae, limit);
    case 'minR2':
      return atLeast(name, 'R²', m.r2, limit);
    case 'maxRmseIncreaseVsChampion': {
      if (!champion) return skipped(name, limit);
      const increase = relativeIncrease(m.rmse, champion.rmse);
      const passed = increase <= limit;
      return result(
        name,
        limit,
        increase,
        passed,
        `RMSE ${fmtValue(m.rmse)} vs champion ${fmtValue(champion.rmse)} (max increase ${limit * 100}%)`,
      );
    }
    case 'maxWorstSliceRmseIncrease': {
      if (!champion) return skipped(name, limit);
      const pairs = pairedSlices(m.slices, champion.slices);
      if (pairs.length === 0) return result(name, limit, null, true, 'no slice evaluated for both candidate and champion');
      const increase = (p: (typeof pairs)[number]) => relativeIncrease(p.candidate.rmse, p.champion.rmse);
      const worst = pairs.reduce((a, b) => (increase(b) > increase(a) ? b : a));
      const passed = increase(worst) <= limit;
      return result(
        name,
        limit,
        increase(worst),
        passed,
        `worst slice ${sliceName(worst)} RMSE ${fmtValue(worst.candidate.rmse)} vs champion ${fmtValue(worst.champion.rmse)} (max increase ${limit * 100}%)`,
      );
    }
    case 'maxP99LatencyMs':
    case 'maxModelSizeBytes':
      return checkCost(name, limit, candidate);
  }
}

/**
 * `checkGates` for any task: the task is the candidate's (`taskOfMetrics`); `gates` must be that
 * task's (parse them with `qualityGatesSchemaFor`). A champion of another task cannot be compared
 * with, and is refused.
 */
export function checkTaskGates(gates: TaskQualityGates, candidate: TaskGateCandidate, champion?: TaskGateChampion): GateReport {
  const kind = taskOfMetrics(candidate.metrics);
  if (champion && taskOfMetrics(champion.metrics) !== kind) {
    throw new RangeError(
      `the champion is a ${describeTask(taskOfMetrics(champion.metrics))} model, the candidate a ${describeTask(kind)} one`,
    );
  }
  const parsed = qualityGatesSchemaFor(kind).parse(gates) as Record<string, number | undefined>;
  const declared = GATE_NAMES[kind].filter((name) => parsed[name] !== undefined);
  const m = candidate.metrics;
  if (!('task' in m)) return checkGates(parsed as QualityGates, { ...candidate, metrics: m }, champion as GateChampion | undefined);
  const results = declared.map((name) => {
    const limit = parsed[name]!;
    return m.task === 'multiclass'
      ? checkMulticlass(
          name as MulticlassGateName,
          limit,
          { ...candidate, metrics: m },
          champion?.metrics as MulticlassEvaluationMetrics | undefined,
        )
      : checkRegression(
          name as RegressionGateName,
          limit,
          { ...candidate, metrics: m },
          champion?.metrics as RegressionEvaluationMetrics | undefined,
        );
  });
  return summarize(results);
}
