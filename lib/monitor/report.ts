// What a drift check stores and shows: the report object (drift.json, which the HTML renders
// too) and the wording of a breached SLO. Shared by the check and the HTML report, so neither
// imports the other.
import type { DriftReport } from '../data/drift/index.ts';
import type { DatasetProfile } from '../data/profile-types.ts';
import type { DriftCheckSummary, MonitorSpec, SloResult } from '../contracts/drift-monitor.ts';

/** The full report stored as drift.json (the HTML renders the same object). */
export interface DriftCheckReport {
  summary: DriftCheckSummary;
  monitor: MonitorSpec;
  slos: SloResult[];
  drift: DriftReport | null;
  /** The compared features of both sides (histograms, category counts). */
  reference: DatasetProfile | null;
  current: DatasetProfile | null;
}

const SLO_TEXT: Record<SloResult['name'], string> = {
  p99LatencyMs: 'p99 latency (ms)',
  maxErrorRate: 'error rate',
  minAuc: 'online AUC',
  minAccuracy: 'online accuracy',
  maxRmse: 'online RMSE',
  maxLabelShift: 'label shift vs training',
  maxPredictionShift: 'prediction shift vs training labels',
};

/** SLOs that are floors (breached below the limit); the others are ceilings. */
const FLOORS: ReadonlySet<SloResult['name']> = new Set(['minAuc', 'minAccuracy']);

export function sloReason(r: SloResult): string {
  const observed = r.observed === null ? '—' : String(Number(r.observed.toPrecision(4)));
  return `SLO ${SLO_TEXT[r.name]}: ${observed} ${FLOORS.has(r.name) ? '<' : '>'} ${r.limit}`;
}
