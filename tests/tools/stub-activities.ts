// Cheap stand-ins for every activity the workflows call, for recording histories
// (record-histories.ts). The subject of a recording is the workflow's own command sequence, so an
// activity only has to answer in the shape the workflow reads; what it says is chosen by the model
// name (`preempt` → preempted on spot queues). An activity the workflows call that is missing here
// stops the recorder with its name (record-histories.ts).
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { FAILURE_TYPES } from '../../lib/errors.ts';
import { TASK_QUEUES, WORKFLOW_IDS } from '../../lib/temporal/constants.ts';
import { parseModelSpec, type ModelSpec } from '../../lib/model-spec/model-spec.ts';

type Input = Record<string, unknown>;
const uri = (key: string) => `s3://flywheel-recorder/${key}`;

export interface StubOptions {
  /** Runs the monitor `ensureDriftMonitor` starts continue as new after this many checks. */
  checksBeforeContinueAsNew: number;
  /** Told when a rollout check of a `slow-analysis` model starts; that check then takes 1.5 s. */
  analysisStarted?: (model: string) => void;
}

export function createStubActivities(client: Client, monitorOptions: StubOptions) {
  const versions = new Map<string, number>();
  const promoted = new Map<string, { version: number; datasetVersion: string }>();
  const registered = new Map<string, string>(); // `${model}/${version}` → dataset version
  const gitopsFetches = new Map<string, number>();
  const gitopsRunning = new Map<string, unknown>();
  async function trainSomething(input: Input) {
    const queue = Context.current().info.taskQueue;
    if (String(input.runKey).includes('preempt') && queue !== 'on-demand')
      throw ApplicationFailure.create({ type: FAILURE_TYPES.Preempted, message: 'stub: spot instance reclaimed' });
    return {
      runKey: input.runKey,
      modelUri: uri(`${String(input.runKey)}/model.onnx`),
      featureSpecHash: 'stub-feature-spec',
      lineage: { hyperparameters: {} },
      identity: queue,
    };
  }
  return {
    // lifecycle
    async syncRetrainSchedule() {
      return { scheduleId: null };
    },
    async setRetrainScheduleState(input: { name: string; state: string }) {
      const state = input.state === 'retired' ? 'deleted' : input.state === 'paused' ? 'paused' : 'unpaused';
      return { scheduleId: WORKFLOW_IDS.retrainSchedule(input.name), state };
    },
    async recordApprovalDecision(input: Input) {
      return { ...input, at: new Date().toISOString() };
    },
    async promoteToChampion(input: Input) {
      const key = `${String(input.model)}/${String(input.version)}`;
      promoted.set(String(input.model), { version: Number(input.version), datasetVersion: registered.get(key) ?? 'v-unknown' });
      return { model: input.model, version: input.version };
    },
    async parseSpec(input: { spec: unknown }) {
      return parseModelSpec(input.spec, 'the new spec');
    },
    async applyMonitorSettings(input: { spec: { name: string } }) {
      return { workflowId: WORKFLOW_IDS.driftMonitor(input.spec.name), state: 'none' as const };
    },
    // data
    async ingestDataset(input: Input) {
      const datasetVersion = `v-${String((input.sourceUris as string[]).length)}${String(input.dataset)}`;
      return { datasetVersion, manifestUri: uri(`datasets/${datasetVersion}/manifest.json`), rows: 3000 };
    },
    async validateDataset() {
      return { passed: true, reportUri: uri('validation.json'), summary: 'stub: valid' };
    },
    async profileDataset() {
      return { profileUri: uri('profile.json') };
    },
    async buildFeatures() {
      const split = (name: string) => ({ uri: uri(`features/${name}.parquet`), rows: 1000 });
      return {
        splits: { train: split('train'), validation: split('validation'), test: split('test') },
        featureSpecUri: uri('features/spec.json'),
      };
    },
    // training
    trainFlightsMlp: trainSomething,
    trainCommandModel: trainSomething,
    importOnnxModel: trainSomething,
    // evaluation, registry
    async evaluateCandidate() {
      return { metrics: { auc: 0.7 }, gateReportUri: uri('gates.json'), reportUri: uri('report.html'), summary: 'stub: auc 0.70' };
    },
    async registerCandidate(input: Input) {
      const model = String(input.model);
      const version = (versions.get(model) ?? 1) + 1; // v1 is the champion a rollout compares with
      versions.set(model, version);
      registered.set(`${model}/${version}`, String((input.lineage as { datasetVersion?: string } | undefined)?.datasetVersion));
      return { version };
    },
    /** The champion's lineage: a retrain on the same dataset version finds it (skipped without new data). */
    async championLineage(input: Input) {
      return promoted.get(String(input.model)) ?? null;
    },
    // monitor
    async ensureDriftMonitor(input: { spec: Pick<ModelSpec, 'name' | 'data' | 'monitor'> }) {
      const { spec } = input;
      const workflowId = WORKFLOW_IDS.driftMonitor(spec.name);
      // Once per model, as the real activity: a later promotion finds it running.
      const started = await client.workflow
        .start('driftMonitor', {
          taskQueue: TASK_QUEUES.cpu,
          workflowId,
          args: [
            {
              model: spec.name,
              dataset: spec.data.dataset,
              monitor: spec.monitor,
              lifecycleWorkflowId: WORKFLOW_IDS.modelLifecycle(spec.name),
              checksBeforeContinueAsNew: monitorOptions.checksBeforeContinueAsNew,
            },
          ],
        })
        .then(
          () => true,
          (err: unknown) => {
            if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
            throw err;
          },
        );
      return { workflowId, started };
    },
    async checkDrift(input: Input) {
      return {
        checkId: input.checkId,
        at: new Date().toISOString(),
        status: 'breach',
        breach: true,
        reasons: ['stub: hour drifted'],
        championVersion: 2,
        reference: 'v-stub',
        samples: 500,
        drift: null,
        slo: { samples: 500, p99LatencyMs: 5, errorRate: 0, labels: 0, auc: null },
      };
    },
    // rollout
    async currentChampion() {
      return 1;
    },
    async setRolloutRoute(input: Input) {
      return { ...input, updatedAt: new Date().toISOString() };
    },
    async analyzeRolloutStep(input: Input) {
      if (String(input.model).includes('slow-analysis')) {
        monitorOptions.analysisStarted?.(String(input.model));
        await new Promise((r) => setTimeout(r, 1500));
      }
      const arm = { samples: 100, errorRate: 0, p99LatencyMs: 5, meanPrediction: 0.2, labels: 0, auc: null };
      return {
        verdict: 'pass',
        reasons: [],
        window: { since: input.since, until: new Date().toISOString() },
        champion: arm,
        challenger: arm,
      };
    },
    async restoreOrphanedRoute() {
      return { restored: false, version: null, route: null };
    },
    async rollbackRollout() {
      return { evidenceUri: uri('rollout/evidence.json'), route: null };
    },
    async completeRollout() {
      return { evidenceUri: uri('rollout/evidence.json'), route: null };
    },
    // traffic
    async exportLabelledTraffic() {
      return { uris: [uri('traffic/part-0.parquet')], rows: 100, partition: 'traffic-stub' };
    },
    // batch
    async planBatch(input: Input) {
      const model = input.model as { name: string };
      return {
        rows: 30,
        chunks: [0, 1, 2].map((index) => ({ index, start: index * 10, end: index * 10 + 10 })),
        model: { name: model.name, version: 2, artifactUri: uri('model.onnx'), featureSpecUri: uri('spec.json'), task: 'binary' },
      };
    },
    async registerBatchJob() {
      return undefined;
    },
    async scoreBatchChunk(input: Input) {
      const { index } = input.chunk as { index: number };
      return { index, rows: 10, uri: uri(`batch/part-${index}.parquet`), sha256: `stub-${index}` };
    },
    async writeBatchManifest() {
      return uri('batch/manifest.json');
    },
    async publishBatchTable() {
      return undefined;
    },
    // batch feature tables
    async planFeatureTable() {
      return {
        rows: 25,
        chunkRows: 10,
        columns: [
          { name: 'distance', type: 'DOUBLE' },
          { name: 'origin', type: 'VARCHAR' },
        ],
      };
    },
    async registerFeatureTableJob() {
      return undefined;
    },
    async loadFeatureChunk() {
      return undefined;
    },
    async publishFeatureTable() {
      return '2026-01-01T00:00:00.000Z';
    },
    // serving (inference jobs)
    async scoreJob(input: Input) {
      const instances = input.instances as unknown[];
      return {
        requestId: String(input.jobId),
        model: String(input.model),
        predictions: instances.map(() => ({ probability: 0.2, version: 2 })),
      };
    },
    async deliverWebhook() {
      throw ApplicationFailure.create({ type: 'WebhookRefused', message: 'stub: the webhook answered 410', nonRetryable: true });
    },
    // gitops: per env, the 1st fetch is commit 1 (one model), the 2nd a commit that does not load,
    // later ones commit 3 (its gate raised); the model runs once something created it.
    async fetchDesiredState(input: { env: string }) {
      const n = (gitopsFetches.get(input.env) ?? 0) + 1;
      gitopsFetches.set(input.env, n);
      const commit = String(Math.min(n, 3)).repeat(40);
      if (n === 2) return { commit, errors: ['models/rec-gitops.yaml is invalid:', '  task: Invalid option'] };
      const spec = { name: `rec-gitops-${input.env}`, gates: { minAuc: n === 1 ? 0.6 : 0.65 } };
      return { commit, desired: { prune: false, models: [{ name: spec.name, state: 'active', spec }] }, errors: [] };
    },
    async observeLifecycles(input: { models: string[] }) {
      return input.models.filter((m) => gitopsRunning.has(m)).map((m) => ({ name: m, state: 'active', spec: gitopsRunning.get(m) }));
    },
    async applyGitopsAction(input: { action: { kind: string; model: string; spec?: unknown } }) {
      if (input.action.spec) gitopsRunning.set(input.action.model, input.action.spec);
      return { outcome: 'done', detail: `stub: ${input.action.kind}` };
    },
    // system
    // cross-environment promotion (the target environment's side)
    async completePromotion(input: { version: number; outcome: { decision: string } }) {
      return input.outcome.decision === 'approved'
        ? { champion: input.version, previousChampion: null }
        : { champion: null, previousChampion: null };
    },
    async probeWorker() {
      const info = Context.current().info;
      return {
        workerKind: info.taskQueue === TASK_QUEUES.gpu ? 'gpu' : 'cpu',
        taskQueue: info.taskQueue,
        identity: 'recorder',
        hostname: 'recorder',
        pid: 0,
        attempt: info.attempt,
      };
    },
  };
}
