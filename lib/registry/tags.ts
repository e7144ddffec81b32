// Registry version tags Flywheel writes and reads: batch scoring and serving find a version's
// feature spec through them.

/** URI of the fitted feature spec (JSON) the version was trained with. */
export const FEATURE_SPEC_TAG = 'flywheel.feature_spec';
/** URI of the evaluation (gate) report. */
export const REPORT_TAG = 'flywheel.report';
