// GPU worker process: training (and heavy scoring) activities, one task at a time per device.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../../workers/shared/run.ts';

await runWorkerProcess('gpu').catch(exitOnFatal);
