// `driftMonitor` (`monitor/<model>`): workflow input and carried state, its `checkNow` signal and
// `status` Query, and the check activity's input and summary.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { ModelSpec } from '../model-spec/model-spec.ts';
import type { TaskKind } from '../tasks/task.ts';
import { workflowRef } from './workflow-ref.ts';
import type { RefusedPayload } from './refused-payload.ts';

export type { RefusedPayload };

/** The spec's `monitor` section (lib/model-spec/model-spec.ts), as the workflow receives it. */
export type MonitorSpec = ModelSpec['monitor'];

/** Hysteresis and bookkeeping `driftMonitor` carries across continue-as-new. */
export interface MonitorState {
  /** Checks run by this monitor, across runs; check n's drift event id ends in `/n`. */
  checks: number;
  /** First run id of the chain (8 chars): keeps event ids unique if the monitor is restarted. */
  epoch: string;
  consecutiveBreaches: number;
  consecutiveClears: number;
  /** False after an alert until `clearsToRearm` clean checks (or a new champion) re-arm it. */
  armed: boolean;
  /** Champion version the last alert was about; a different champion re-arms the monitor. */
  alertedVersion?: number;
  lastAlertAt?: string;
  /** Drift signals sent to the lifecycle. */
  alerts: number;
  lastCheck?: DriftCheckSummary;
  /** Why the last check did not alert; null when it did. Absent before the first check. */
  notAlertingBecause?: MonitorReason | null;
}

/** Why a monitor is not alerting, as its last check decided. `disarmed`: it alerted and waits for
 * `clearsToRearm` clean checks (or, while drift persists, the cooldown's end: `until`). */
export interface MonitorReason {
  code:
    | 'no-check-yet'
    | 'clean'
    | 'insufficient-data'
    | 'no-champion'
    | 'no-reference'
    | 'check-failed'
    | 'below-breaches-to-alert'
    | 'cooldown'
    | 'disarmed';
  message: string;
  /** When the last alert was sent (`disarmed`). */
  since?: string;
  /** When an alert is possible again (`cooldown`, `disarmed` while breaching). */
  until?: string;
  /** Breaching checks in a row still needed (`below-breaches-to-alert`). */
  breachesNeeded?: number;
  /** Clean checks in a row still needed to re-arm (`disarmed`). */
  clearsNeeded?: number;
}

/** The dataset of a monitor whose input names none: monitors were started without one only while
 * the model spec's dataset defaulted to the flights example, so that is what such a history means.
 * New monitors always name theirs. */
export const LEGACY_MONITOR_DATASET = 'flights';

export interface DriftMonitorInput {
  model: string;
  /** The dataset whose profile is the reference (the model spec's `data.dataset`; the lifecycle
   * always sets it). @default LEGACY_MONITOR_DATASET, for monitors started before it existed */
  dataset?: string;
  monitor: MonitorSpec;
  /** Where drift signals go. @default `model/<model>` */
  lifecycleWorkflowId?: string;
  /** Checks per run before the monitor continues as new (sooner when Temporal suggests it).
   * Each check is about ten history events. @default 200 */
  checksBeforeContinueAsNew?: number;
  /** Carried over by continue-as-new. */
  state?: MonitorState;
  /** Carried over by continue-as-new: a `checkNow` that arrived as the previous run ended. */
  checkPending?: boolean;
  /** Carried over by continue-as-new: how many payloads were refused in all. */
  refusedTotal?: number;
  /** Carried over by continue-as-new: the last refused signal payloads (at most 10). */
  refused?: RefusedPayload[];
}

export interface CheckDriftInput {
  model: string;
  /** @default LEGACY_MONITOR_DATASET */
  dataset?: string;
  /** Names the check's folder: `monitoring/<model>/<checkId>/`. */
  checkId: string;
  monitor: MonitorSpec;
}

/** What a check found. `breach` is judged only when status is 'ok' or 'breach'. */
export type CheckStatus = 'ok' | 'breach' | 'insufficient-data' | 'no-champion' | 'no-reference';

export interface SloMetrics {
  /** Non-shadow champion predictions in the window. */
  samples: number;
  p99LatencyMs: number | null;
  /** Share of non-finite outputs. */
  errorRate: number | null;
  /** Predictions in the window with a feedback label. */
  labels: number;
  /** Online ROC AUC, when at least `slo.minLabels` labels of both classes arrived. */
  auc: number | null;
  /** Share of labelled predictions whose label is positive, when at least `slo.minLabels` arrived. */
  positiveRate: number | null;
  /** The champion's task; absent in checks from before tasks (binary). */
  task?: TaskKind;
  /** Multiclass: share of labelled predictions whose class is the true class (≥ minLabels). */
  accuracy?: number | null;
  /** Regression: root mean squared and mean absolute error on labelled predictions (≥ minLabels). */
  rmse?: number | null;
  mae?: number | null;
  /** Label drift against the training label distribution (≥ minLabels labels): binary |positive
   * share − training share|; multiclass total variation distance of the class shares; regression
   * |mean − training mean| in training standard deviations. */
  labelShift?: number | null;
  /** Prediction drift against the training label distribution: binary |mean P(1) − training
   * positive share|; multiclass total variation distance of the predicted-class shares;
   * regression Wasserstein distance of the predicted values in training standard deviations. */
  predictionShift?: number | null;
}

export interface SloResult {
  name: 'p99LatencyMs' | 'maxErrorRate' | 'minAuc' | 'maxLabelShift' | 'minAccuracy' | 'maxRmse' | 'maxPredictionShift';
  observed: number | null;
  limit: number;
  /** False when there was nothing to judge (e.g. too few labels). */
  judged: boolean;
  breached: boolean;
}

export interface DriftCheckSummary {
  checkId: string;
  /** When the check ran (activity clock, ISO). */
  at: string;
  status: CheckStatus;
  breach: boolean;
  /** One line per breach, or why nothing was judged. */
  reasons: string[];
  championVersion: number | null;
  /** Training dataset version of the champion (the reference). */
  reference: string | null;
  samples: number;
  drift: { drifted: boolean; share: number; driftShare: number; compared: number; driftedFeatures: string[]; summary: string } | null;
  slo: SloMetrics;
  /** drift.json and drift.html in the artifact store; absent when no report was written. */
  reportUri?: string;
  htmlUri?: string;
}

/** The `status` Query of `driftMonitor`. */
export interface DriftMonitorStatus {
  model: string;
  state: MonitorState;
  /** Checking now, or waiting for the next check. */
  phase: 'waiting' | 'checking';
  nextCheckAt: string | null;
  /** Why it is not alerting (cooldown until T, disarmed since the last alert, insufficient
   * data, …); null when the last check alerted. */
  notAlertingBecause: MonitorReason | null;
  /** The settings in force (the input's, or the last `updateMonitorSettings`). */
  monitor: MonitorSpec;
  /** Signal payloads refused by validation (newest last, at most 10) and how many in all. */
  refused: RefusedPayload[];
  refusedTotal: number;
}

/** Run a check now instead of at the next interval (tests, `flywheel`, the Web UI). */
export const checkNowSignal = defineSignal<[{ reason?: string }?]>('checkNow');
export const driftMonitorStatusQuery = defineQuery<DriftMonitorStatus>('status');
/** New monitor settings from a changed model spec: they apply from the next check and carry
 * through continue-as-new; `enabled: false` ends the monitor. Sent by `ensureDriftMonitor` and by
 * the lifecycle's `applyMonitorSettings` when a model's spec changes. */
export const updateMonitorSettingsSignal = defineSignal<[{ monitor: ModelSpec['monitor'] }]>('updateMonitorSettings');

export type DriftMonitorWorkflow = (input: DriftMonitorInput) => Promise<void>;
export const driftMonitorWorkflow = workflowRef<DriftMonitorWorkflow>('driftMonitor');
