// `flywheel ci`'s pipeline: a training cycle's own activities, run in this process on a sample of
// the spec's data, over a temporary local artifact store and an embedded PGlite database (no
// Temporal server, no network): sample → ingest → validate → profile → features → train (the
// spec's trainer) → evaluate (the task's quality gates) → register as champion → serve (the
// inference server's own model loading and predict route, on sample rows of the test split).
// Each step is what `modelCycle` and its children call, with the same inputs; the first failure
// stops the run and the report says which step, its failure type and, for gates, each limit and value.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDataActivities } from '../../activities/data/index.ts';
import { createEvaluationActivities } from '../../activities/evaluation/index.ts';
import { createLifecycleActivities } from '../../activities/lifecycle/index.ts';
import { createRegistryActivities } from '../../activities/registry/index.ts';
import { createCommandTrainingActivities } from '../../activities/training/command.ts';
import { createTrainingActivities } from '../../activities/training/index.ts';
import { createImportActivities } from '../../activities/training/import.ts';
import { checkPredictAnswer } from '../../lib/ci/contract.ts';
import { CI_REPORT_FORMAT, CI_STEPS, type CiContract, type CiReport, type CiStep, type CiStepName } from '../../lib/ci/report.ts';
import { writeSourceSample } from '../../lib/ci/sample.ts';
import { loadConfig } from '../../lib/config/index.ts';
import { LABEL_COLUMN } from '../../lib/data/label-sql.ts';
import { migrate, PGliteDatabase } from '../../lib/db/index.ts';
import type { GateReport } from '../../lib/evaluation/gates.ts';
import { loadModelIO } from '../../lib/features/tabular/model-io.ts';
import type { Logger } from '../../lib/log.ts';
import type { ModelSpec } from '../../lib/model-spec/model-spec.ts';
import { evaluateJobOf, trainJobOf } from '../../lib/model-spec/train-job.ts';
import { BuiltinRegistry } from '../../lib/registry/index.ts';
import { LocalArtifactStore, type ArtifactStore } from '../../lib/storage/index.ts';
import { flywheelActivityInterceptors } from '../../lib/temporal/failures.ts';
import { tableRows } from '../../lib/traffic/table-source.ts';
import type { TfjsBackend } from '../../lib/training/backend.ts';
import { noPreemption } from '../../lib/training/preemption.ts';
import type { BuildFeaturesResult, IngestResult, ProfileDatasetResult, ValidateDatasetResult } from '../../lib/contracts/prepare-data.ts';
import type { EvaluateCandidateResult } from '../../lib/contracts/model-cycle.ts';
import type { ExternalModelResult, TrainActivityResult } from '../../lib/contracts/train-model.ts';
import { predictResponseSchema } from '../../serving/http/response-schemas.ts';
import type { ModelSchemaView } from '../../serving/model-schema.ts';
import { createInferenceServer } from '../../serving/server.ts';

export interface CiRunOptions {
  /** The spec file, as given (for the report). */
  specPath: string;
  spec: ModelSpec;
  /** Rows sampled from the source. */
  sampleRows: number;
  /** Files (URIs) to sample instead of the spec's `data.source`. */
  data?: readonly string[];
  /** Keep the reports here (ci-report.json, ci-report.txt, the evaluation and validation reports). */
  outDir?: string;
  /** Instances in the serving check's predict request. @default 16 */
  contractRows?: number;
  /** A line per step as it starts and ends. */
  progress: (line: string) => void;
  logger: Logger;
  /** @default 'auto' */
  trainingBackend?: TfjsBackend;
  /** FLYWHEEL_TRAINER_PATH for a command trainer. */
  trainerPath?: string;
}

/** What a failed step's report URIs are kept as (`--out`): the names a passing step uses. */
const REPORT_NAMES = {
  validate: { json: 'validation-report', html: 'validation-report-html' },
  evaluate: { json: 'gates', html: 'evaluation-report' },
} as const;

/** Thrown by a step to stop the run; the step is already recorded as failed. */
class StepFailed extends Error {
  override readonly name = 'StepFailed';
}

function describeError(err: unknown): { message: string; failureType?: string; details?: Record<string, unknown> } {
  let e: unknown = err;
  while (e instanceof Error && !(e instanceof ApplicationFailure) && e.cause instanceof Error) e = e.cause;
  if (e instanceof ApplicationFailure) {
    const details = (e.details?.[0] ?? undefined) as Record<string, unknown> | undefined;
    return { message: e.message, ...(e.type ? { failureType: e.type } : {}), ...(details ? { details } : {}) };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

function pathOf(uri: string): string {
  return fileURLToPath(uri);
}

export async function runCi(options: CiRunOptions): Promise<CiReport> {
  const { spec, progress, logger } = options;
  const started = performance.now();
  const root = await mkdtemp(join(tmpdir(), 'flywheel-ci-'));
  const report: CiReport = {
    format: CI_REPORT_FORMAT,
    spec: options.specPath,
    model: spec.name,
    task: spec.task,
    trainer: spec.trainer.kind,
    sample: { requested: options.sampleRows, rows: 0 },
    passed: false,
    steps: [],
    gates: [],
    metrics: {},
    artifacts: {},
    ms: 0,
  };
  const artifacts = new Map<string, string>(); // name → URI in the temporary store
  let db: PGliteDatabase | undefined;
  let opening: Promise<BuiltinRegistry> | undefined;

  async function step<T>(name: CiStepName, fn: () => Promise<{ value: T; summary: string }>): Promise<T> {
    progress(`→ ${name}`);
    const t0 = performance.now();
    try {
      const { value, summary } = await fn();
      const ms = Math.round(performance.now() - t0);
      report.steps.push({ name, status: 'passed', ms, summary });
      progress(`✓ ${name}: ${summary} (${(ms / 1000).toFixed(1)} s)`);
      return value;
    } catch (err) {
      const ms = Math.round(performance.now() - t0);
      const { message, failureType, details } = describeError(err);
      const failedGates = Array.isArray(details?.failedGates) ? (details.failedGates as string[]) : undefined;
      report.steps.push({ name, status: 'failed', ms, summary: message, ...(failureType ? { failureType } : {}) });
      report.failure = { step: name, message, ...(failureType ? { failureType } : {}), ...(failedGates ? { failedGates } : {}) };
      // The failure's reports, under the names a passing run gives them.
      const names = REPORT_NAMES[name as keyof typeof REPORT_NAMES] ?? { json: `${name}-report`, html: `${name}-report-html` };
      if (typeof details?.reportUri === 'string') artifacts.set(names.json, details.reportUri);
      if (typeof details?.htmlReportUri === 'string') artifacts.set(names.html, details.htmlReportUri);
      progress(`✗ ${name}: ${failureType ? `[${failureType}] ` : ''}${message}`);
      throw new StepFailed(message, { cause: err });
    }
  }

  try {
    const store = await LocalArtifactStore.create(pathToFileURL(join(root, 'artifacts')).href);
    // The registry's database starts (seconds: PostgreSQL in WebAssembly) while the data steps run;
    // only evaluation (is there a champion?) and registration wait for it.
    opening = PGliteDatabase.create('memory://').then(async (opened) => {
      db = opened;
      await migrate(opened);
      return new BuiltinRegistry(opened);
    });
    opening.catch(() => undefined); // awaited below; a failure is reported by the step that needs it
    const env = new MockActivityEnvironment(
      { activityType: 'flywheel-ci' },
      { logger: quietActivityLogger, interceptors: [flywheelActivityInterceptors] },
    );
    const identity = 'flywheel-ci';
    const data = createDataActivities({ store, logger });
    const tfjs = createTrainingActivities({
      store,
      logger,
      identity,
      preemption: noPreemption(),
      backend: options.trainingBackend ?? 'auto',
    });
    const command = createCommandTrainingActivities({
      store,
      logger,
      identity,
      preemption: noPreemption(),
      ...(options.trainerPath ? { trainerPath: options.trainerPath } : {}),
    });
    const imports = createImportActivities({ store, logger, identity });
    const sample = await step('sample', async () => {
      const source = options.data?.length ? undefined : spec.data.source;
      let uri: string;
      let rows: number;
      let detail: string;
      if (source) {
        const written = await writeSourceSample({ store }, { dataset: spec.data.dataset, source, rows: options.sampleRows });
        ({ uri, rows } = written);
        detail = `${rows} of ${written.sourceRows} rows of ${source.uri ?? 'the postgres query'}`;
      } else if (options.data?.length) {
        const written = await sampleFiles(store, spec, options.data, options.sampleRows);
        ({ uri, rows } = written);
        detail = `${rows} of ${written.sourceRows} rows of ${options.data.join(', ')}`;
      } else {
        throw new Error('the spec has no data.source: pass --data <file> (Parquet or CSV) to sample instead');
      }
      report.sample.rows = rows;
      return { value: uri, summary: detail };
    });

    const ingested = await step('ingest', async () => {
      const r: IngestResult = await env.run(data.ingestDataset, { dataset: spec.data.dataset, sourceUris: [sample] });
      return { value: r, summary: `${r.rows} rows as dataset version ${r.datasetVersion}` };
    });
    // What prepareData passes every data step.
    const columns = {
      features: spec.features,
      task: spec.task,
      ...(spec.data.label !== undefined ? { label: spec.data.label } : {}),
      ...(spec.data.time ? { time: spec.data.time } : {}),
    };
    await step('validate', async () => {
      const r: ValidateDatasetResult = await env.run(data.validateDataset, {
        manifestUri: ingested.manifestUri,
        validationSpec: spec.data.validation as Record<string, unknown>,
        ...columns,
      });
      artifacts.set('validation-report', r.reportUri);
      return { value: r, summary: r.summary };
    });
    await step('profile', async () => {
      const r: ProfileDatasetResult = await env.run(data.profileDataset, { manifestUri: ingested.manifestUri, ...columns });
      return { value: r, summary: `${r.rows} rows profiled` };
    });
    const features = await step('features', async () => {
      const r: BuildFeaturesResult = await env.run(data.buildFeatures, {
        manifestUri: ingested.manifestUri,
        ...(spec.data.splits ? { splits: spec.data.splits } : {}),
        ...columns,
      });
      const { train, validation, test } = r.splits;
      return { value: r, summary: `splits ${train.rows} / ${validation.rows} / ${test.rows} rows (train / validation / test)` };
    });

    const { splits, featureSpecUri } = features;
    const trained = await step('train', async () => {
      // trainModel's input and its split into the activity's, as the workflow does it.
      const {
        resources: _resources,
        preemption: _preemption,
        trainer,
        ...job
      } = {
        trainUri: splits.train.uri,
        validationUri: splits.validation.uri,
        featureSpecUri,
        datasetVersion: ingested.datasetVersion,
        ...trainJobOf(spec),
      };
      const runKey = `training/ci/${spec.name}`;
      const r: TrainActivityResult | ExternalModelResult =
        trainer?.kind === 'command'
          ? await env.run(command.trainCommandModel, { ...job, runKey, trainer })
          : trainer?.kind === 'onnx'
            ? await env.run(imports.importOnnxModel, { ...job, runKey, modelUri: trainer.modelUri })
            : await env.run(tfjs.trainFlightsMlp, { ...job, runKey });
      const how =
        'epochsRun' in r
          ? `${r.epochsRun} epochs on ${r.backend}, best validation loss ${r.bestValLoss.toFixed(4)}`
          : `${r.trainer} trainer`;
      return { value: r, summary: `${how} → ${basename(r.modelUri)}` };
    });

    // The registry activities, over the database once it is up: is there a champion to compare with
    // (never, here), then register and promote the candidate.
    const registry = await opening;
    // The run is tracked in the in-memory database as in a cycle (nothing outlives the command).
    const evaluation = createEvaluationActivities({ store, registry, logger, db: db! });
    const registration = createRegistryActivities({ registry, logger, db: db! });
    const lifecycle = createLifecycleActivities({
      registry,
      logger,
      client: () => Promise.reject(new Error('flywheel ci runs without a workflow service')),
    });

    const evaluated = await step('evaluate', async () => {
      try {
        const r: EvaluateCandidateResult = await env.run(
          evaluation.evaluateCandidate,
          evaluateJobOf(spec, trained, { featureSpecUri, testUri: splits.test.uri, validationUri: splits.validation.uri }),
        );
        report.metrics = r.metrics;
        report.gates = (await readJson<GateReport>(store, r.gateReportUri)).gates;
        artifacts.set('gates', r.gateReportUri);
        artifacts.set('evaluation-report', r.reportUri);
        artifacts.set('metrics', r.metricsUri);
        return { value: r, summary: r.summary };
      } catch (err) {
        // A failed gate still wrote its gate report: every gate goes into ours, with limit and value.
        const { details } = describeError(err);
        if (typeof details?.reportUri === 'string')
          report.gates = (await readJson<GateReport>(store, details.reportUri).catch(() => ({ gates: [] }))).gates;
        throw err;
      }
    });

    const version = await step('register', async () => {
      const { version }: { version: number } = await env.run(registration.registerCandidate, {
        model: spec.name,
        runKey: trained.runKey,
        modelUri: trained.modelUri,
        featureSpecUri,
        lineage: {
          datasetVersion: ingested.datasetVersion,
          featureSpecHash: trained.featureSpecHash,
          params: trained.lineage.hyperparameters,
        },
        metrics: evaluated.metrics,
        gateReportUri: evaluated.gateReportUri,
        reportUri: evaluated.reportUri,
        summary: evaluated.summary,
        ...(evaluated.variants ? { variants: evaluated.variants } : {}),
        ...(spec.variants.int8.serve ? { servedVariant: 'int8' as const } : {}),
      });
      await env.run(lifecycle.promoteToChampion, {
        model: spec.name,
        version,
        actor: 'flywheel-ci',
        reason: 'ci: passed its quality gates',
      });
      return { value: version, summary: `v${version} registered and champion (temporary registry)` };
    });

    await step('serve', async () => {
      const contract = await checkServing({
        spec,
        store,
        db: db!, // open: the registry above waited for it
        registry,
        logger,
        version,
        featureSpecUri,
        testUri: splits.test.uri,
        rows: options.contractRows ?? 16,
      });
      report.contract = contract;
      if (contract.problems.length > 0) throw new Error(`the predict answer breaks the serving contract: ${contract.problems.join('; ')}`);
      return {
        value: contract,
        summary: `POST /v1/models/${spec.name}/predict with ${contract.instances} test rows → ${contract.fields.join(', ')}`,
      };
    });
    report.passed = true;
  } catch (err) {
    if (!(err instanceof StepFailed)) throw err;
  } finally {
    await opening?.catch(() => undefined);
    for (const name of CI_STEPS)
      if (!report.steps.some((s) => s.name === name))
        report.steps.push({ name, status: 'skipped', ms: 0, summary: 'not run' } satisfies CiStep);
    report.ms = Math.round(performance.now() - started);
    await db?.close().catch(() => undefined);
    if (options.outDir) report.artifacts = await keepArtifacts(options.outDir, artifacts);
    await rm(root, { recursive: true, force: true });
  }
  return report;
}

/** Copies the reports out of the temporary store into `--out`; names → paths. */
async function keepArtifacts(outDir: string, artifacts: Map<string, string>): Promise<Record<string, string>> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  const kept: Record<string, string> = {};
  for (const [name, uri] of artifacts) {
    if (!uri.startsWith('file://')) continue;
    const ext = uri.slice(uri.lastIndexOf('.'));
    const to = join(dir, `${name}${ext}`);
    await copyFile(pathOf(uri), to).then(
      () => (kept[name] = to),
      () => undefined,
    );
  }
  return kept;
}

async function readJson<T>(store: ArtifactStore, uri: string): Promise<T> {
  return JSON.parse((await store.get(store.keyFor(uri))).toString('utf8')) as T;
}

/** `--data` files sampled like a source (their format from the extension). */
async function sampleFiles(store: ArtifactStore, spec: ModelSpec, files: readonly string[], rows: number) {
  const uris = files.map((f) => (/^(file|s3):\/\//.test(f) ? f : pathToFileURL(resolve(f)).href));
  // One sample per file would skew towards small files; a glob source is one table, so read them together.
  if (uris.length === 1) return writeSourceSample({ store }, { dataset: spec.data.dataset, source: { uri: uris[0]! }, rows });
  throw new Error('--data takes one file (or a glob in quotes, e.g. "data/*.parquet")');
}

interface ServingCheck {
  spec: ModelSpec;
  store: ArtifactStore;
  db: PGliteDatabase;
  registry: BuiltinRegistry;
  logger: Logger;
  version: number;
  featureSpecUri: string;
  testUri: string;
  rows: number;
}

/** The inference server (not listening: requests are injected) loads the registered champion the
 * way it loads any version (checksum, feature-spec hash, input and output widths, warm-up), then
 * answers its schema route and a predict request built from test rows. */
async function checkServing(c: ServingCheck): Promise<CiContract> {
  const settings = loadConfig('serve', {
    FLYWHEEL_SERVE_AUTH: 'false',
    FLYWHEEL_SERVE_MODELS: c.spec.name,
    FLYWHEEL_SERVE_THREADS: '1',
    FLYWHEEL_SERVE_JOBS: 'false',
  }).serve;
  const server = await createInferenceServer({
    settings,
    db: c.db,
    registry: c.registry,
    store: c.store,
    logger: c.logger,
    predictionLog: false,
  });
  try {
    await server.models.refresh();
    const refused = server.models.problems.get(c.spec.name);
    if (refused) throw new Error(`the inference server did not load v${c.version}: ${refused}`);
    const name = encodeURIComponent(c.spec.name);
    const schemaAnswer = await server.app.inject({ method: 'GET', url: `/v1/models/${name}/schema` });
    if (schemaAnswer.statusCode !== 200)
      throw new Error(`GET /v1/models/${c.spec.name}/schema answered ${schemaAnswer.statusCode}: ${schemaAnswer.body}`);
    const schema = schemaAnswer.json<ModelSchemaView>();
    const instances: Record<string, unknown>[] = [];
    for await (const row of tableRows(pathOf(c.testUri), { inputs: schema.inputs, label: LABEL_COLUMN, limit: c.rows }))
      instances.push(row.instance);
    if (instances.length === 0) throw new Error('the test split has no rows to send');
    const answer = await server.app.inject({ method: 'POST', url: `/v1/models/${name}/predict`, payload: { instances } });
    if (answer.statusCode !== 200)
      throw new Error(
        `POST /v1/models/${c.spec.name}/predict with ${instances.length} test rows answered ${answer.statusCode}: ${answer.body}`,
      );
    const body: unknown = answer.json();
    const io = await loadModelIO(c.store, c.featureSpecUri);
    const problems = [
      ...(predictResponseSchema.safeParse(body).success ? [] : ['the answer does not match the predict response schema']),
      ...checkPredictAnswer(io.task, c.version, instances.length, body),
    ];
    const first = (body as { predictions?: Record<string, unknown>[] }).predictions?.[0];
    return { instances: instances.length, fields: schema.predictionFields, ...(first ? { example: first } : {}), problems };
  } finally {
    await server.stop();
  }
}

/** The activity context's own logger: the activities here log through the injected one. */
const quietActivityLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** Saves the report as JSON and text under `--out`. */
export async function writeReportFiles(outDir: string, report: CiReport, text: string): Promise<void> {
  const dir = resolve(outDir);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ci-report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(dir, 'ci-report.txt'), `${text}\n`);
}
