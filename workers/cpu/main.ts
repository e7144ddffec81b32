// CPU worker process: all workflows plus data, evaluation, batch and training activities on
// flywheel-cpu, and the short control activities on flywheel-control with their own slots.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../shared/run.ts';
import { controlActivities, cpuActivities } from './activities.ts';

await runWorkerProcess('cpu', cpuActivities, { control: controlActivities }).catch(exitOnFatal);
