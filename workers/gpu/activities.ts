// What the GPU worker registers: system info and both trainers (TF.js and the command protocol).
import { createSystemActivities } from '../../activities/system/index.ts';
import { trainerActivities, type ActivityDeps } from '../shared/activities.ts';

export function gpuActivities(deps: ActivityDeps): object {
  return { ...createSystemActivities({ workerKind: 'gpu', identity: deps.identity }), ...trainerActivities(deps) };
}
