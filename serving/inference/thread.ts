// One ONNX Runtime thread: holds sessions by id and runs them. `session.run` in onnxruntime-node
// blocks its thread for the whole inference, so it runs here, never on the server's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { OnnxSession } from '../../lib/onnx/session.ts';
import type { FromThread, ThreadSessionOptions, ToThread } from './protocol.ts';

const port = parentPort;
if (!port) throw new Error('serving/inference/thread.ts must run as a worker thread');
const options = workerData as ThreadSessionOptions;
const sessions = new Map<string, OnnxSession>();

function reply(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function handle(message: ToThread): Promise<void> {
  try {
    switch (message.type) {
      case 'load': {
        const session = await OnnxSession.create(message.model, options);
        // Warm-up: the first run allocates and plans; pay for it before traffic arrives.
        if (message.warmupRows > 0) await session.run(new Float32Array(message.warmupRows * session.inputDim), message.warmupRows);
        await sessions.get(message.id)?.dispose();
        sessions.set(message.id, session);
        reply({ type: 'loaded', seq: message.seq, inputDim: session.inputDim, outputDim: session.outputDim });
        return;
      }
      case 'run': {
        const session = sessions.get(message.id);
        if (!session) throw new Error(`model ${message.id} is not loaded on this thread`);
        const y = await session.run(message.x, message.rows);
        // A copy we own (ORT may own the output's memory), so it can be transferred, not cloned.
        const out = y.slice();
        reply({ type: 'result', seq: message.seq, y: out }, [out.buffer as ArrayBuffer]);
        return;
      }
      case 'unload': {
        await sessions.get(message.id)?.dispose();
        sessions.delete(message.id);
        reply({ type: 'unloaded', seq: message.seq });
        return;
      }
    }
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply({ type: 'error', seq: message.seq, message: e.message, name: e.name });
  }
}

port.on('message', (message: ToThread) => void handle(message));
