// Entry of an ONNX Runtime worker thread. Node 20 resolves a worker's entry file before any
// `--import` hook runs, so the entry is plain JavaScript that registers tsx, then loads the thread.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
