// Evaluation activity (CPU queue). The candidate and the current champion are scored by ONNX
// Runtime on the same held-out test rows (each encoded with its own fitted features), evaluated
// for the model's task, checked against its quality gates, and written up as JSON and an HTML
// report. A failed gate is a non-retryable QualityGateFailed; a passing candidate is registered by
// activities/registry/. A champion that cannot be compared (another task, other classes, other
// inputs, unreadable features) is left out with a note, never compared wrongly. Each evaluated
// run, passed or failed, is recorded for experiment tracking (docs/tracking.md).
import { withDuck } from '../../lib/data/duck.ts';
import type { SourceContext } from '../../lib/data/sources.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import {
  checkTaskGates,
  evaluateBinary,
  evaluateMulticlass,
  evaluateRegression,
  measureLatency,
  qualityGatesSchemaFor,
  renderEvaluationReport,
  sliceName,
  type BatchLatency,
  type TaskEvaluationMetrics,
  type TaskQualityGates,
} from '../../lib/evaluation/index.ts';
import { checkVariantGate } from '../../lib/evaluation/variant-gate.ts';
import { featureSlices } from '../../lib/evaluation/feature-slices.ts';
import { loadModelIO, type ModelIO } from '../../lib/features/tabular/model-io.ts';
import { canonicalJson } from '../../lib/features/tabular/state.ts';
import type { Logger } from '../../lib/log.ts';
import { OnnxSession } from '../../lib/onnx/index.ts';
import { ALIASES, findAlias, type ModelRegistry } from '../../lib/registry/index.ts';
import { putJson, type ArtifactStore, type S3StoreOptions } from '../../lib/storage/index.ts';
import { describeTask } from '../../lib/tasks/task.ts';
import { describeDropped, encodeSplit, keepKnownClasses, loadSplitRows, type SplitRows } from '../../lib/training/data.ts';
import type { Dataset } from '../../lib/training/tfjs/trainer.ts';

import { FEATURE_SPEC_TAG, REPORT_TAG } from '../../lib/registry/tags.ts';
import { MlflowError } from '../../lib/registry/errors.ts';
import type { Queryable } from '../../lib/db/index.ts';
import {
  recordRun,
  runMirrorFor,
  setMlflowRunId,
  trackedRunOf,
  type MlflowRunMirror,
  type RunArtifactFile,
} from '../../lib/tracking/index.ts';
import type { EvaluationOutcome } from '../../lib/tracking/record.ts';
import type { EvaluateCandidateInput, EvaluateCandidateResult } from '../../lib/contracts/model-cycle.ts';
import { withHeartbeats } from '../training/heartbeats.ts';

export { FEATURE_SPEC_TAG, REPORT_TAG };
const CHUNK = 65_536;

export interface EvaluationActivityDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  registry: ModelRegistry;
  logger: Logger;
  /** How often evaluateCandidate beats while it scores. @default 5000 */
  keepAliveMs?: number;
  /** Flywheel's database: each evaluated run is recorded in `training_runs` (experiment tracking).
   * Without one (a worker without a database) nothing is recorded. @default none */
  db?: Queryable;
  /** Where runs are mirrored as MLflow runs. @default the registry's MLflow server, when it is MLflow */
  runMirror?: MlflowRunMirror | null;
}

/** One model scored on the split: what the gates, the report and metrics.json take. */
interface ScoredModel {
  metrics: TaskEvaluationMetrics;
  latency?: readonly BatchLatency[];
  sizeBytes: number;
}

/** Test (and, for a binary model, validation) rows read with one model's input spec. */
interface EvalRows {
  test: SplitRows;
  validation?: SplitRows;
}

async function score(session: OnnxSession, data: Dataset): Promise<Float32Array> {
  const units = session.outputDim;
  const out = new Float32Array(data.rows * units);
  for (let start = 0; start < data.rows; start += CHUNK) {
    const end = Math.min(data.rows, start + CHUNK);
    out.set(await session.run(data.x.subarray(start * data.dim, end * data.dim), end - start), start * units);
  }
  return out;
}

/**
 * The flat numbers the registry stores per version (and `flywheel models` lists), per task:
 * binary rocAuc, prAuc, logLoss, brier, ece, threshold, precision, recall, f1; multiclass
 * accuracy, macroF1, logLoss, topKAccuracy, topK, classes; regression rmse, mae, r2, targetMean.
 */
export function summarizeMetrics(m: TaskEvaluationMetrics): Record<string, number> {
  if (!('task' in m))
    return {
      rocAuc: m.rocAuc,
      prAuc: m.prAuc,
      logLoss: m.logLoss,
      brier: m.brier,
      ece: m.ece,
      threshold: m.threshold,
      precision: m.precision,
      recall: m.recall,
      f1: m.f1,
    };
  if (m.task === 'multiclass')
    return {
      accuracy: m.accuracy,
      macroF1: m.macroF1,
      logLoss: m.logLoss,
      topKAccuracy: m.topK.accuracy,
      topK: m.topK.k,
      classes: m.classes.length,
    };
  return { rmse: m.rmse, mae: m.mae, r2: m.r2, targetMean: m.targetMean };
}

/** Why a champion cannot be compared with the candidate on these rows, or null when it can. */
function incomparable(candidate: ModelIO, champion: ModelIO): string | null {
  if (champion.task.kind !== candidate.task.kind)
    return `it is a ${describeTask(champion.task.kind)} model, the candidate a ${describeTask(candidate.task.kind)} one`;
  if (champion.task.kind === 'multiclass' && candidate.task.kind === 'multiclass') {
    const theirs = champion.task.classes.join(',');
    if (theirs !== candidate.task.classes.join(','))
      return `its classes (${champion.task.classes.join(', ')}) are not the candidate's (${candidate.task.classes.join(', ')})`;
  }
  return null;
}

export function createEvaluationActivities(deps: EvaluationActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };
  const mirror = deps.runMirror === undefined ? runMirrorFor(deps.registry) : (deps.runMirror ?? undefined);

  /**
   * Records the evaluated run (experiment tracking) and mirrors it to MLflow. A failure here fails
   * the activity, which retries: tracking is part of the product, and both writes are idempotent
   * (the row is replaced, the MLflow run found by its tag), so a retry leaves one run, not two.
   */
  async function track(input: EvaluateCandidateInput, outcome: EvaluationOutcome): Promise<void> {
    if (!input.run) {
      deps.logger.debug({ model: input.model, runKey: input.runKey }, 'no training run details in the input (older caller): not tracked');
      return;
    }
    if (!deps.db && !mirror) return;
    const record = trackedRunOf({ model: input.model, runKey: input.runKey, run: input.run }, outcome);
    const stored = deps.db
      ? await recordRun(deps.db, record)
      : { ...record, version: null, mlflowRunId: null, recordedAt: new Date().toISOString() };
    if (!mirror) return;
    const files: RunArtifactFile[] = await Promise.all(
      (
        [
          ['evaluation/gates.json', outcome.gateReportUri, 'application/json'],
          ['evaluation/metrics.json', outcome.metricsUri, 'application/json'],
          ['evaluation/report.html', outcome.reportUri, 'text/html'],
        ] as const
      ).map(async ([path, uri, contentType]) => ({ path, contentType, body: await deps.store.get(deps.store.keyFor(uri)) })),
    );
    files.push({ path: 'flywheel-run.json', contentType: 'application/json', body: Buffer.from(JSON.stringify(stored, null, 2)) });
    let mirrored;
    try {
      mirrored = await mirror.mirror(stored, files);
    } catch (err) {
      // MLflow refusing the mirror (a 4xx: a value it will never take) must not fail the model's
      // evaluation: the run stays in Flywheel's database, and the log says what MLflow refused.
      // MLflow down (MlflowUnavailableError) still fails the attempt, which retries.
      if (!(err instanceof MlflowError)) throw err;
      deps.logger.warn(
        { model: input.model, runKey: input.runKey, err: err.message },
        'MLflow refused the run mirror; the run is kept in Flywheel only',
      );
      return;
    }
    if (deps.db) await setMlflowRunId(deps.db, input.runKey, mirrored.mlflowRunId);
    deps.logger.info(
      { model: input.model, runKey: input.runKey, mlflowRunId: mirrored.mlflowRunId, artifactsUploaded: mirrored.artifactsUploaded },
      'training run mirrored to MLflow',
    );
  }

  /** The rows one model is scored on; `notes` hears of test rows it cannot be scored on. */
  async function loadRows(io: ModelIO, input: EvaluateCandidateInput, notes: string[], who: string): Promise<EvalRows> {
    const limit = input.limitRows ? { limit: input.limitRows } : {};
    const rows = await withDuck(async (duck) => ({
      test: await loadSplitRows(duck, ctx, input.testUri, io.fitted.spec, limit),
      // Only a binary model uses validation rows: its decision threshold is chosen on them.
      ...(io.task.kind === 'binary' ? { validation: await loadSplitRows(duck, ctx, input.validationUri, io.fitted.spec, limit) } : {}),
    }));
    const known = keepKnownClasses(io.task, rows.test);
    if (Object.keys(known.dropped).length > 0)
      notes.push(`${who}: test rows of classes it was not fitted with left out (${describeDropped(known.dropped)})`);
    return { ...rows, test: known.rows };
  }

  async function evaluateModel(
    modelUri: string,
    io: ModelIO,
    rows: EvalRows,
    slices: Record<string, string[]>,
    withLatency: boolean,
  ): Promise<ScoredModel> {
    const bytes = await deps.store.get(deps.store.keyFor(modelUri), { verify: true });
    const session = await OnnxSession.create(bytes);
    try {
      if (session.inputDim !== io.encoder.dimension)
        throw new RangeError(`the model takes ${session.inputDim} inputs, its fitted features give ${io.encoder.dimension}`);
      if (session.outputDim !== io.head.units)
        throw new RangeError(`the model gives ${session.outputDim} outputs per row, its ${io.task.kind} head ${io.head.units}`);
      const test = encodeSplit(io, rows.test);
      const outputs = await score(session, test);
      let metrics: TaskEvaluationMetrics;
      if (io.task.kind === 'multiclass') {
        metrics = evaluateMulticlass({ probabilities: outputs, labels: test.y, classes: io.task.classes, slices });
      } else if (io.task.kind === 'regression') {
        metrics = evaluateRegression({ predictions: outputs, targets: test.y, slices });
      } else {
        const validation = encodeSplit(io, rows.validation!);
        metrics = evaluateBinary({
          scores: outputs,
          labels: test.y,
          validationScores: await score(session, validation),
          validationLabels: validation.y,
          slices,
        });
      }
      const latency = withLatency ? await measureLatency(session, test.dim) : undefined;
      return { metrics, ...(latency ? { latency } : {}), sizeBytes: bytes.byteLength };
    } finally {
      await session.dispose();
    }
  }

  return {
    // The workflow gives this a heartbeat timeout: the keep-alive beats through the whole scoring
    // (loading rows, ONNX runs, the report), so only a dead worker misses it.
    async evaluateCandidate(input: EvaluateCandidateInput): Promise<EvaluateCandidateResult> {
      return withHeartbeats<EvaluateCandidateResult, { step: string }>(deps.keepAliveMs, (beats) =>
        evaluateCandidate(input, (step) => beats.beat({ step })),
      );
    },
  };

  async function evaluateCandidate(input: EvaluateCandidateInput, heartbeat: (step: string) => void): Promise<EvaluateCandidateResult> {
    const io = await loadModelIO(deps.store, input.featureSpecUri);
    const kind = io.task.kind;
    const parsed = qualityGatesSchemaFor(kind).safeParse(input.gates ?? {});
    if (!parsed.success) {
      throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
        summary: `invalid quality gates for a ${describeTask(kind)} model: ${parsed.error.issues
          .map((i) => `${i.path.join('.') || '(gates)'}: ${i.message}`)
          .join('; ')}`,
      });
    }
    heartbeat('loading test rows');
    const notes: string[] = [];
    const rows = await loadRows(io, input, notes, 'candidate');
    // Slices come from the candidate's spec and rows, so the champion is sliced the same way.
    const slices = featureSlices(io.fitted.spec, rows.test.batch);

    heartbeat('scoring the candidate');
    const candidate = await evaluateModel(input.modelUri, io, rows, slices, true);
    let variants: EvaluateCandidateResult['variants'];
    if (input.variants?.int8) {
      heartbeat('scoring the int8 variant');
      const { modelUri, maxMetricDrop } = input.variants.int8;
      const scored = await evaluateModel(modelUri, io, rows, slices, false);
      const metrics = summarizeMetrics(scored.metrics);
      const gate = checkVariantGate(kind, summarizeMetrics(candidate.metrics), metrics, maxMetricDrop);
      variants = { int8: { ...gate, modelUri, sizeBytes: scored.sizeBytes, metrics } };
      deps.logger.info({ model: input.model, runKey: input.runKey, passed: gate.passed }, gate.summary);
    }
    const championVersion = await findAlias(deps.registry, input.model, ALIASES.champion);
    let champion: ScoredModel | undefined;
    if (championVersion) {
      heartbeat(`scoring champion v${championVersion.version}`);
      const label = `champion v${championVersion.version}`;
      try {
        const championSpecUri = championVersion.tags[FEATURE_SPEC_TAG];
        const championIO =
          !championSpecUri || championSpecUri === input.featureSpecUri ? io : await loadModelIO(deps.store, championSpecUri);
        const why = incomparable(io, championIO);
        if (why) {
          notes.push(`${label} not compared: ${why}`);
        } else {
          // The rows depend on the columns read and the task's classes, not on the fitted state:
          // a champion reading the same inputs (every retrain of one spec) reuses them.
          const sameRows =
            canonicalJson(championIO.inputs) === canonicalJson(io.inputs) && canonicalJson(championIO.task) === canonicalJson(io.task);
          const championRows = sameRows ? rows : await loadRows(championIO, input, notes, label);
          champion = await evaluateModel(championVersion.artifactUri, championIO, championRows, slices, false);
        }
      } catch (err) {
        // A champion that cannot be read or scored (legacy feature state, another input width)
        // must not block every future candidate; the champion gates count as skipped.
        notes.push(`${label} not compared: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    for (const note of notes) deps.logger.warn({ model: input.model, runKey: input.runKey }, note);

    const gates = checkTaskGates(parsed.data as TaskQualityGates, candidate, champion ? { metrics: champion.metrics } : undefined);
    const summary = notes.length > 0 ? `${gates.summary} (${notes.join('; ')})` : gates.summary;
    const report = { ...gates, summary };
    const html = await renderEvaluationReport({
      title: `${input.model}: ${input.runKey}`,
      candidate: { ...candidate, label: 'candidate' },
      ...(champion && championVersion ? { champion: { ...champion, label: `champion v${championVersion.version}` } } : {}),
      gates: report,
    });
    const prefix = `${input.runKey}/evaluation`;
    const metricsInfo = await putJson(deps.store, `${prefix}/metrics.json`, {
      task: kind,
      candidate,
      ...(variants ? { variants } : {}),
      champion: champion ? { version: championVersion!.version, ...champion } : null,
      notes,
    });
    const gatesInfo = await putJson(deps.store, `${prefix}/gates.json`, report);
    const reportInfo = await deps.store.put(`${prefix}/report.html`, html, { contentType: 'text/html' });
    deps.logger.info({ model: input.model, runKey: input.runKey, summary, report: reportInfo.uri }, 'evaluation done');
    heartbeat('recording the run');
    await track(input, {
      status: gates.passed ? 'passed' : 'failed',
      summary,
      metrics: summarizeMetrics(candidate.metrics),
      ...(variants?.int8 ? { int8Metrics: variants.int8.metrics } : {}),
      gateReportUri: gatesInfo.uri,
      reportUri: reportInfo.uri,
      metricsUri: metricsInfo.uri,
    });
    if (!gates.passed) {
      throw permanentFailure(FAILURE_TYPES.QualityGateFailed, {
        summary,
        reportUri: gatesInfo.uri,
        htmlReportUri: reportInfo.uri,
        failedGates: gates.gates.filter((g) => !g.passed).map((g) => g.name),
      });
    }
    const championSummary = champion ? summarizeMetrics(champion.metrics) : undefined;
    return {
      summary,
      passed: true,
      gateReportUri: gatesInfo.uri,
      reportUri: reportInfo.uri,
      metricsUri: metricsInfo.uri,
      metrics: summarizeMetrics(candidate.metrics),
      worstSlice: candidate.metrics.worstSlice ? sliceName(candidate.metrics.worstSlice) : null,
      champion:
        champion && championVersion && championSummary
          ? {
              version: championVersion.version,
              ...(championSummary.rocAuc !== undefined ? { rocAuc: championSummary.rocAuc } : {}),
              ...(kind === 'binary' ? {} : { metrics: championSummary }),
            }
          : null,
      sizeBytes: candidate.sizeBytes,
      task: kind,
      ...(notes.length > 0 ? { notes } : {}),
      ...(variants ? { variants } : {}),
    };
  }
}

export type EvaluationActivities = ReturnType<typeof createEvaluationActivities>;
