// Quality gates a candidate model must pass before it is registered for approval: declared per
// model, checked against its evaluation (and the champion's, when there is one), and reported
// with a one-line summary that reads well in the Temporal Web UI.
import { z } from 'zod';
import { sliceName, type BatchLatency, type EvaluationMetrics } from './evaluate.ts';

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
  name: GateName;
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

function result(name: GateName, limit: number, observed: number | null, passed: boolean, message: string): GateResult {
  return { name, passed, skipped: false, observed, limit, message };
}

function skipped(name: GateName, limit: number): GateResult {
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
  const failed = results.filter((r) => !r.passed);
  const skippedCount = results.filter((r) => r.skipped).length;
  let summary = results.length === 0 ? 'no quality gates declared' : `${results.length - failed.length}/${results.length} gates passed`;
  if (skippedCount > 0) summary += ` (${skippedCount} skipped: no champion)`;
  if (failed.length > 0) summary += ` — failed: ${failed.map((r) => r.message).join('; ')}`;
  return { passed: failed.length === 0, summary, gates: results };
}
