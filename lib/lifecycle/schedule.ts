// A model's `retrain.schedule` as a Temporal ScheduleSpec: a five-field cron stays a cron
// expression; `@every <duration>` becomes a fixed interval.
import type { ScheduleSpec } from '@temporalio/client';
import { durationMs } from '../model-spec/duration.ts';
import { SCHEDULE_EVERY_PATTERN } from '../model-spec/model-spec.ts';

export function retrainScheduleSpec(schedule: string): ScheduleSpec {
  const every = SCHEDULE_EVERY_PATTERN.exec(schedule);
  return every ? { intervals: [{ every: durationMs(every[1]!) }] } : { cronExpressions: [schedule] };
}
