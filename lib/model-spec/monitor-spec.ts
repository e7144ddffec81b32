// The model spec's `monitor` section, in its own module because the drift monitor workflow
// validates the settings it is sent (`updateMonitorSettings`) and workflow code cannot import
// model-spec.ts (it reads spec files with Node). No Node imports here.
import { z } from 'zod';
import { DRIFT_METHODS, METHODS_BY_KIND } from '../data/drift/options.ts';
import { DURATION_PATTERN } from './duration.ts';

/** Durations as people write them: `90s`, `15m`, `2h`, `7d`, or milliseconds as a number. */
const duration = z.union([z.number().int().nonnegative(), z.string().regex(DURATION_PATTERN, 'not a duration like 30s, 15m, 2h or 7d')]);

/** Drift and SLO monitoring of the served champion. */
export const monitorSpecSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Time between checks. */
  interval: duration.default('5m'),
  /** The recent prediction-log window each check compares with the training profile. */
  window: duration.default('1h'),
  /** Logged predictions the window needs before drift is judged. */
  minSamples: z.number().int().positive().default(500),
  /** Drift statistics options (docs/drift.md): methods, thresholds, driftShare. */
  drift: z
    .strictObject({
      numericMethod: z.enum(METHODS_BY_KIND.numeric).optional(),
      categoricalMethod: z.enum(METHODS_BY_KIND.categorical).optional(),
      thresholds: z.partialRecord(z.enum(DRIFT_METHODS), z.number().nonnegative()).optional(),
      driftShare: z.number().min(0).max(1).optional(),
      /** Only these features are compared; unset: every feature of the profile a request carries. */
      features: z.array(z.string()).optional(),
    })
    .default({}),
  /** Service-level objectives; a breach counts like drift. */
  slo: z
    .strictObject({
      p99LatencyMs: z.number().positive().optional(),
      maxErrorRate: z.number().min(0).max(1).optional(),
      /** Online AUC from feedback labels, when at least `minLabels` arrived in the window. */
      minAuc: z.number().min(0).max(1).optional(),
      /** Label (target) drift, when at least `minLabels` labels arrived: binary |share of positive
       * labels in the window − share in the training data|; multiclass the total variation
       * distance of the class shares; regression the label mean's shift in training standard
       * deviations (so above 1 is allowed). */
      maxLabelShift: z.number().min(0).optional(),
      /** Multiclass: online accuracy from feedback labels, when at least `minLabels` arrived. */
      minAccuracy: z.number().min(0).max(1).optional(),
      /** Regression: online RMSE from feedback labels (label units), when at least `minLabels` arrived. */
      maxRmse: z.number().positive().optional(),
      /** Prediction drift against the training label distribution (see SloMetrics.predictionShift). */
      maxPredictionShift: z.number().nonnegative().optional(),
      minLabels: z.number().int().positive().default(200),
    })
    .default({ minLabels: 200 }),
  /** Hysteresis: consecutive breaching checks before the lifecycle is signalled… */
  breachesToAlert: z.number().int().positive().default(2),
  /** …and consecutive clean checks before another alert is possible. */
  clearsToRearm: z.number().int().positive().default(2),
  /** Least time between two drift signals, whatever the checks say. */
  cooldown: duration.default('6h'),
});
