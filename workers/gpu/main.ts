// GPU worker process: training (and heavy scoring) activities, one task at a time per device.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../shared/run.ts';
import { gpuActivities } from './activities.ts';

await runWorkerProcess('gpu', gpuActivities).catch(exitOnFatal);
