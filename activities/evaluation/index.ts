// Evaluation activity (CPU queue). The candidate and the current champion are scored by ONNX
// Runtime on the same held-out test rows (each encoded with its own feature spec), checked against
// the model's quality gates, and written up as JSON and an HTML report. A failed gate is a
// non-retryable QualityGateFailed; a passing candidate is registered by activities/registry/.
import { Context } from '@temporalio/activity';
import { withDuck } from '../../lib/data/duck.ts';
import type { SourceContext } from '../../lib/data/sources.ts';
import { FAILURE_TYPES, permanentFailure } from '../../lib/errors.ts';
import { hourOf, type FlightsFeatureSpec } from '../../lib/features/flights.ts';
import {
  checkGates,
  evaluateBinary,
  measureLatency,
  qualityGatesSchema,
  renderEvaluationReport,
  sliceName,
  type EvaluationMetrics,
} from '../../lib/evaluation/index.ts';
import type { Logger } from '../../lib/log.ts';
import { OnnxSession } from '../../lib/onnx/index.ts';
import { ALIASES, findAlias, type ModelRegistry } from '../../lib/registry/index.ts';
import { getJson, putJson, type ArtifactStore, type S3StoreOptions } from '../../lib/storage/index.ts';
import { encodeRows, loadFlightsRows, type FlightsRows } from '../../lib/training/data.ts';
import type { Dataset } from '../../lib/training/tfjs/trainer.ts';

import { FEATURE_SPEC_TAG, REPORT_TAG } from '../../lib/registry/tags.ts';
import type { EvaluateCandidateInput, EvaluateCandidateResult } from '../../lib/contracts/model-cycle.ts';

export { FEATURE_SPEC_TAG, REPORT_TAG };
const CHUNK = 65_536;

export interface EvaluationActivityDeps {
  store: ArtifactStore;
  s3?: S3StoreOptions;
  registry: ModelRegistry;
  logger: Logger;
}

async function score(session: OnnxSession, data: Dataset): Promise<Float32Array> {
  const out = new Float32Array(data.rows);
  for (let start = 0; start < data.rows; start += CHUNK) {
    const end = Math.min(data.rows, start + CHUNK);
    out.set(await session.run(data.x.subarray(start * data.dim, end * data.dim), end - start), start);
  }
  return out;
}

/** Slices people ask about: the busiest origin airports and 4-hour blocks of the day. */
function sliceKeys(rows: FlightsRows): Record<string, string[]> {
  const hour = Array.from(rows.batch.dateMs, (ms) => {
    const b = Math.floor(hourOf(ms) / 4) * 4;
    return `${String(b).padStart(2, '0')}-${String(b + 3).padStart(2, '0')}`;
  });
  return { origin: Array.from(rows.batch.origin), hour };
}

function summarize(m: EvaluationMetrics): Record<string, number> {
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
}

export function createEvaluationActivities(deps: EvaluationActivityDeps) {
  const ctx: SourceContext = { store: deps.store, ...(deps.s3 ? { s3: deps.s3 } : {}) };

  async function evaluateModel(
    modelUri: string,
    spec: FlightsFeatureSpec,
    test: FlightsRows,
    validation: FlightsRows,
    withLatency: boolean,
  ) {
    const bytes = await deps.store.get(deps.store.keyFor(modelUri), { verify: true });
    const session = await OnnxSession.create(bytes);
    try {
      const testData = encodeRows(spec, test);
      const validationData = encodeRows(spec, validation);
      const metrics = evaluateBinary({
        scores: await score(session, testData),
        labels: test.labels,
        validationScores: await score(session, validationData),
        validationLabels: validation.labels,
        slices: sliceKeys(test),
      });
      const latency = withLatency ? await measureLatency(session, testData.dim) : undefined;
      return { metrics, latency, sizeBytes: bytes.byteLength };
    } finally {
      await session.dispose();
    }
  }

  return {
    async evaluateCandidate(input: EvaluateCandidateInput): Promise<EvaluateCandidateResult> {
      const parsed = qualityGatesSchema.safeParse(input.gates ?? {});
      if (!parsed.success) {
        throw permanentFailure(FAILURE_TYPES.InvalidConfig, {
          summary: `invalid quality gates: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        });
      }
      const heartbeat = (step: string) => Context.current().heartbeat({ step });
      heartbeat('loading test rows');
      const limit = input.limitRows ? { limit: input.limitRows } : {};
      const [test, validation] = await withDuck(async (duck) => [
        await loadFlightsRows(duck, ctx, input.testUri, limit),
        await loadFlightsRows(duck, ctx, input.validationUri, limit),
      ]);
      const spec = await getJson<FlightsFeatureSpec>(deps.store, deps.store.keyFor(input.featureSpecUri));

      heartbeat('scoring the candidate');
      const candidate = await evaluateModel(input.modelUri, spec, test, validation, true);
      const championVersion = await findAlias(deps.registry, input.model, ALIASES.champion);
      let champion: Awaited<ReturnType<typeof evaluateModel>> | undefined;
      if (championVersion) {
        heartbeat(`scoring champion v${championVersion.version}`);
        const championSpecUri = championVersion.tags[FEATURE_SPEC_TAG];
        const championSpec = championSpecUri ? await getJson<FlightsFeatureSpec>(deps.store, deps.store.keyFor(championSpecUri)) : spec;
        champion = await evaluateModel(championVersion.artifactUri, championSpec, test, validation, false);
      }

      const gates = checkGates(parsed.data, candidate, champion ? { metrics: champion.metrics } : undefined);
      const html = await renderEvaluationReport({
        title: `${input.model}: ${input.runKey}`,
        candidate: { ...candidate, label: 'candidate' },
        ...(champion && championVersion ? { champion: { ...champion, label: `champion v${championVersion.version}` } } : {}),
        gates,
      });
      const prefix = `${input.runKey}/evaluation`;
      const metricsInfo = await putJson(deps.store, `${prefix}/metrics.json`, {
        candidate,
        champion: champion ? { version: championVersion!.version, ...champion } : null,
      });
      const gatesInfo = await putJson(deps.store, `${prefix}/gates.json`, gates);
      const reportInfo = await deps.store.put(`${prefix}/report.html`, html, { contentType: 'text/html' });
      deps.logger.info({ model: input.model, runKey: input.runKey, summary: gates.summary, report: reportInfo.uri }, 'evaluation done');
      if (!gates.passed) {
        throw permanentFailure(FAILURE_TYPES.QualityGateFailed, {
          summary: gates.summary,
          reportUri: gatesInfo.uri,
          htmlReportUri: reportInfo.uri,
          failedGates: gates.gates.filter((g) => !g.passed).map((g) => g.name),
        });
      }
      return {
        summary: gates.summary,
        passed: true,
        gateReportUri: gatesInfo.uri,
        reportUri: reportInfo.uri,
        metricsUri: metricsInfo.uri,
        metrics: summarize(candidate.metrics),
        worstSlice: candidate.metrics.worstSlice ? sliceName(candidate.metrics.worstSlice) : null,
        champion: champion && championVersion ? { version: championVersion.version, rocAuc: champion.metrics.rocAuc } : null,
        sizeBytes: candidate.sizeBytes,
      };
    },
  };
}

export type EvaluationActivities = ReturnType<typeof createEvaluationActivities>;
