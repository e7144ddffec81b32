// Registry version tags Flywheel writes and reads: batch scoring and serving find a version's
// feature spec through them.

/** URI of the fitted feature spec (JSON) the version was trained with. */
export const FEATURE_SPEC_TAG = 'flywheel.feature_spec';
/** URI of the evaluation (gate) report. */
export const REPORT_TAG = 'flywheel.report';
/** Which build a version's artifact is (`fp32`, `int8`); absent: fp32. */
export const SERVED_VARIANT_TAG = 'flywheel.variant';
/** `flywheel.variant.<name>.uri` / `.gate`: each variant's file and its gate's verdict. */
export function variantTag(name: string, field: 'uri' | 'gate'): string {
  return `flywheel.variant.${name}.${field}`;
}
/** The MLflow run id of the version's training run, when runs are mirrored to MLflow
 * (lib/tracking); the MLflow registry also links the version to that run. */
export const MLFLOW_RUN_TAG = 'flywheel.mlflow_run_id';
