// prepareData: ingest → validate → profile → features for one batch of new partitions. Bad data
// stops here with DataValidationFailed (non-retryable) and a report URI; nothing downstream runs.
import { proxyActivities } from '@temporalio/workflow';
import type { DataActivities } from '../activities/data/index.ts';
import { NON_RETRYABLE_FAILURE_TYPES } from '../lib/errors.ts';
import { TASK_QUEUES } from '../lib/temporal/constants.ts';
import type { PrepareDataInput, PrepareDataResult } from '../lib/contracts/prepare-data.ts';

const data = proxyActivities<DataActivities>({
  taskQueue: TASK_QUEUES.cpu,
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURE_TYPES] },
});

export async function prepareData(input: PrepareDataInput): Promise<PrepareDataResult> {
  const ingested = await data.ingestDataset({ dataset: input.dataset, sourceUris: input.sourceUris });
  const reference = input.referenceProfileUri ? { referenceProfileUri: input.referenceProfileUri } : {};
  // What the model reads (each step checks, profiles or fits it); absent in inputs from before the
  // feature language, which buildFeatures refuses.
  const columns = {
    ...(input.features ? { features: input.features } : {}),
    ...(input.task ? { task: input.task } : {}),
    ...(input.label !== undefined ? { label: input.label } : {}),
    ...(input.time ? { time: input.time } : {}),
  };
  const validation = await data.validateDataset({
    manifestUri: ingested.manifestUri,
    validationSpec: input.validationSpec,
    ...reference,
    ...columns,
  });
  const { profileUri } = await data.profileDataset({
    manifestUri: ingested.manifestUri,
    ...reference,
    ...columns,
  });
  const features = await data.buildFeatures({
    manifestUri: ingested.manifestUri,
    ...(input.splits ? { splits: input.splits } : {}),
    ...columns,
  });
  return {
    dataset: input.dataset,
    datasetVersion: ingested.datasetVersion,
    manifestUri: ingested.manifestUri,
    rows: ingested.rows,
    validation,
    profileUri,
    features,
  };
}
