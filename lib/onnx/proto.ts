// Small builders over the ONNX protobuf schema (onnx-proto), so the exporters read as graphs:
// tensors with little-endian raw_data, nodes, float32 [N, d] value infos, and the model wrapper.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { InvalidModelError } from './errors.ts';
import type { OnnxModelMetadata } from './types.ts';

// onnx-proto is CommonJS; Node's ESM loader only exposes its module.exports as the default.
const { onnx } = onnxProto;

export const OPSET = 17;
/** IR version 8 is the oldest that opset 17 allows, so older runtimes still load the model. */
export const IR_VERSION = 8;
export const PRODUCER_NAME = 'flywheel';
export const PRODUCER_VERSION = '0.1.0';

export const DataType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  UINT8: onnx.TensorProto.DataType.UINT8,
  INT8: onnx.TensorProto.DataType.INT8,
} as const;

function bytesOf(values: Float32Array | Int8Array | Uint8Array): Uint8Array {
  if (values instanceof Float32Array) {
    // Float32Array uses the platform's byte order; ONNX raw_data is little-endian.
    const out = new Uint8Array(values.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
    return out;
  }
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export function floatTensor(name: string, dims: number[], values: Float32Array): Onnx.ITensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: bytesOf(values) };
}

export function int8Tensor(name: string, dims: number[], values: Int8Array): Onnx.ITensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: bytesOf(values) };
}

export function uint8Tensor(name: string, dims: number[], values: Uint8Array): Onnx.ITensorProto {
  return { name, dims, dataType: DataType.UINT8, rawData: bytesOf(values) };
}

export function node(opType: string, inputs: string[], outputs: string[], attributes: Onnx.IAttributeProto[] = []): Onnx.INodeProto {
  return { opType, input: inputs, output: outputs, name: outputs[0] ?? opType, attribute: attributes };
}

export function intAttribute(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}

/** A float32 tensor of shape `['N', width]`: dynamic batch. */
export function batchValueInfo(name: string, width: number): Onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: width }] } } },
  };
}

export function metadataProps(metadata: OnnxModelMetadata): Onnx.IStringStringEntryProto[] {
  return Object.entries(metadata)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([key, value]) => ({ key, value }));
}

export function encodeModel(graph: Onnx.IGraphProto, metadata: OnnxModelMetadata): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: PRODUCER_NAME,
    producerVersion: PRODUCER_VERSION,
    graph,
    metadataProps: metadataProps(metadata),
  });
  return onnx.ModelProto.encode(model).finish();
}

/** `metadata_props` of an ONNX model as a plain object. */
export function readOnnxMetadata(bytes: Uint8Array): Record<string, string> {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new InvalidModelError(`not an ONNX model: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const { key, value } of model.metadataProps) {
    if (key) out[key] = value ?? '';
  }
  return out;
}
