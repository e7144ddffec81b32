// What V2 clients read before they infer: the server's metadata, and a model's as tensors. Each
// input column of the model is one input tensor (a row per instance); the outputs are the task's.
import { readFileSync } from 'node:fs';
import type { ModelIO } from '../../lib/features/tabular/model-io.ts';
import type { InputKind } from '../../lib/features/tabular/spec.ts';
import type { Task } from '../../lib/tasks/task.ts';
import type { ModelMetadata, TensorMetadata } from './protocol.ts';

/** The binary tensor data extension's name in Triton's server metadata (what clients look for). */
export const V2_EXTENSIONS = ['binary_tensor_data'] as const;

/** Every Flywheel model is an ONNX graph run by ONNX Runtime. */
export const V2_PLATFORM = 'onnxruntime_onnx';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export const SERVER_METADATA = { name: 'flywheel', version: packageVersion(), extensions: [...V2_EXTENSIONS] };

/** The row width of a vector input (`vector[k]`), or undefined for a scalar one. */
export function vectorLength(kind: InputKind): number | undefined {
  const m = /^vector\[(\d+)\]$/.exec(kind);
  return m ? Number(m[1]) : undefined;
}

/** The tensor a client sends for an input column of `kind`. A number column is FP64: the
 * encoder scales it in double precision, as /v1's JSON numbers are, so a client that sends what
 * the metadata says gets exactly /v1's answer (an FP32 tensor is accepted, rounded first). */
export function inputTensorOf(column: string, kind: InputKind): TensorMetadata {
  const length = vectorLength(kind);
  if (length !== undefined) return { name: column, datatype: 'FP32', shape: [-1, length] };
  const datatype = kind === 'number' ? 'FP64' : kind === 'boolean' ? 'BOOL' : 'BYTES';
  return { name: column, datatype, shape: [-1] };
}

export type OutputMetadata = ModelMetadata['outputs'][number];

/** The output tensors a model of `task` answers with, in the order they are returned. */
export function outputTensorsOf(task: Task): OutputMetadata[] {
  switch (task.kind) {
    case 'binary':
      return [{ name: 'probability', datatype: 'FP32', shape: [-1] }];
    case 'multiclass':
      return [
        { name: 'class', datatype: 'BYTES', shape: [-1] },
        // The columns of `probabilities` are the classes in this order.
        { name: 'probabilities', datatype: 'FP32', shape: [-1, task.classes.length], parameters: { classes: [...task.classes] } },
      ];
    case 'regression':
      return [{ name: 'value', datatype: 'FP32', shape: [-1] }];
  }
}

export function modelMetadata(name: string, versions: readonly number[], io: ModelIO): ModelMetadata {
  return {
    name,
    versions: versions.map(String),
    platform: V2_PLATFORM,
    inputs: io.inputs.map((i) => inputTensorOf(i.column, i.kind)),
    outputs: outputTensorsOf(io.task),
  };
}
