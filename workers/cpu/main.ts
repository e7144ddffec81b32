// CPU worker process: all workflows plus data, evaluation, registry and monitoring activities.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../../workers/shared/run.ts';

await runWorkerProcess('cpu').catch(exitOnFatal);
