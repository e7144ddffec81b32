// CPU worker process: all workflows plus data, evaluation, registry and monitoring activities.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../shared/run.ts';
import { cpuActivities } from './activities.ts';

await runWorkerProcess('cpu', cpuActivities).catch(exitOnFatal);
