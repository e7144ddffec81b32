// CPU worker process: all workflows plus data, evaluation, registry and monitoring activities.
import { exitOnFatal } from '../../lib/fatal.ts';
import { runWorkerProcess } from '../../lib/worker/run.ts';

await runWorkerProcess('cpu').catch(exitOnFatal);
